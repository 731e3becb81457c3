import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  AUDIT_KINDS,
  CLIENT_ACTIONS,
  ClientFrame,
  ERROR_CODES,
  ERRORS,
  PROTOCOL_VERSION,
  ServerFrame,
} from "./index.js";

// docs/PROTOCOL.md is the spec clients are written from; these tests keep it in step with the
// registry and the frame unions, so a new code or frame cannot ship undocumented.

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DOC = readFileSync(new URL("../../../docs/PROTOCOL.md", import.meta.url), "utf8");
const LINES = DOC.split("\n");
const TABLE_HEADER = "| code | HTTP status | WebSocket close | client | meaning |";
const RULE_PREFIXES =
  "PROTO|WS|RELAY|AUTH|AUDIT|ADMIN|HTTP|ROOM|PRES|SUB|LIMIT|RCPT|FILE|MLS|IDENT|CHAT|LAN|ACCT";

interface DocumentedError {
  code: string;
  status: number;
  wsClose: number | null;
  client: string;
  meaning: string;
}

function errorTable(): DocumentedError[] {
  const start = LINES.findIndex((line) => line.trim() === TABLE_HEADER);
  assert.notEqual(start, -1, `PROTOCOL.md has no table headed "${TABLE_HEADER}"`);
  const rows: DocumentedError[] = [];
  for (const raw of LINES.slice(start + 2)) {
    const line = raw.trim();
    if (!line.startsWith("|")) break;
    const cells = line
      .slice(1, -1)
      .split("|")
      .map((cell) => cell.trim());
    assert.equal(cells.length, 5, `error table row does not have 5 cells: ${line}`);
    const [code = "", status = "", close = "", client = "", meaning = ""] = cells;
    const name = /^`([a-z0-9_]+)`$/.exec(code)?.[1];
    assert.ok(name, `error table code is not one word in backticks: ${line}`);
    assert.match(status, /^\d{3}$/, `error table status is not a number: ${line}`);
    assert.match(close, /^(\d{4}|-)$/, `error table close is neither a number nor "-": ${line}`);
    assert.ok(
      (CLIENT_ACTIONS as readonly string[]).includes(client),
      `error table client is not an action: ${line}`,
    );
    rows.push({
      code: name,
      status: Number(status),
      wsClose: close === "-" ? null : Number(close),
      client,
      meaning,
    });
  }
  assert.ok(rows.length > 0, "the error table has no rows");
  return rows;
}

function frameTypes(union: unknown): string[] {
  const variants = (union as { anyOf?: { properties?: { type?: { const?: unknown } } }[] }).anyOf ?? [];
  const types = variants.map((v) => v.properties?.type?.const);
  assert.ok(types.length > 0, "the frame union has no variants");
  for (const t of types) assert.equal(typeof t, "string", "a frame variant has no literal type");
  return types as string[];
}

/** A heading or a table row that names the frame type in backticks. */
function documentsFrame(type: string): boolean {
  return LINES.some((line) => /^(#{1,6} |\|)/.test(line) && line.includes(`\`${type}\``));
}

interface FrameRow {
  type: string;
  fields: { name: string; optional: boolean }[];
  line: string;
}

/**
 * The rows of the frame tables of sections 6 and 7 (headed `| type | fields | ...`): the frame
 * type and the fields its second cell names in backticks, `?` marking an optional one, anything
 * after a `:` (a shape) ignored.
 */
function frameTableRows(): FrameRow[] {
  const rows: FrameRow[] = [];
  let inTable = false;
  for (const raw of LINES) {
    const line = raw.trim();
    if (/^\| type \| fields \|/.test(line)) {
      inTable = true;
      continue;
    }
    if (!line.startsWith("|")) inTable = false;
    if (!inTable || line.startsWith("| ---")) continue;
    // A `\|` inside a cell (a union type) is not a cell border.
    const cells = line.slice(1, -1).split(/(?<!\\)\|/);
    const type = /^`([a-z.]+)`$/.exec(cells[0]?.trim() ?? "")?.[1];
    assert.ok(type, `frame table row does not start with a frame type: ${line}`);
    const fields = [...(cells[1] ?? "").matchAll(/`([A-Za-z]+)(\?)?(?::[^`]*)?`/g)].map((m) => ({
      name: m[1] as string,
      optional: m[2] === "?",
    }));
    rows.push({ type, fields, line });
  }
  return rows;
}

function frameSchemas(
  union: unknown,
): Map<string, { properties: Record<string, unknown>; required: string[] }> {
  const variants = (
    union as { anyOf: { properties: Record<string, { const?: string }>; required?: string[] }[] }
  ).anyOf;
  return new Map(
    variants.map((v) => [
      v.properties.type?.const as string,
      { properties: v.properties, required: v.required ?? [] },
    ]),
  );
}

function definedRuleIds(): string[] {
  const pattern = new RegExp(`^\\*\\*((?:${RULE_PREFIXES})-\\d+)\\*\\*`, "gm");
  return [...DOC.matchAll(pattern)].map((m) => m[1] as string);
}

function citedRuleIds(text: string): string[] {
  return [...text.matchAll(new RegExp(`\\b(?:${RULE_PREFIXES})-\\d+\\b`, "g"))].map((m) => m[0]);
}

function sourceFiles(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === "node_modules" || name === "dist") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (/\.(ts|mts|js|mjs|md)$/.test(name)) out.push(path);
  }
  return out;
}

describe("docs/PROTOCOL.md error registry", () => {
  test("lists every registry code exactly once with its HTTP status, close code and client action", () => {
    const rows = errorTable();
    for (const code of ERROR_CODES) {
      const matching = rows.filter((r) => r.code === code);
      assert.equal(matching.length, 1, `${code} appears ${matching.length} times in the error table`);
      const row = matching[0] as DocumentedError;
      assert.equal(row.status, ERRORS[code].status, `${code}: HTTP status`);
      assert.equal(row.wsClose, ERRORS[code].wsClose, `${code}: WebSocket close code`);
      assert.equal(row.client, ERRORS[code].client, `${code}: client action`);
    }
  });

  test("gives each code the registry's message as its meaning", () => {
    for (const row of errorTable()) {
      if (!Object.hasOwn(ERRORS, row.code)) continue;
      assert.equal(row.meaning, ERRORS[row.code as keyof typeof ERRORS].message, `${row.code}: meaning`);
    }
  });

  test("lists no code the registry lacks", () => {
    const unknown = errorTable()
      .map((r) => r.code)
      .filter((code) => !Object.hasOwn(ERRORS, code));
    assert.deepEqual(unknown, []);
  });
});

describe("docs/PROTOCOL.md frames and version", () => {
  test("documents every client frame type in a heading or a table row", () => {
    const missing = frameTypes(ClientFrame).filter((type) => !documentsFrame(type));
    assert.deepEqual(missing, []);
  });

  test("documents every server frame type in a heading or a table row", () => {
    const missing = frameTypes(ServerFrame).filter((type) => !documentsFrame(type));
    assert.deepEqual(missing, []);
  });

  test("the frame tables give each frame's fields, and which are optional, as its schema has them", () => {
    const schemas = new Map([...frameSchemas(ClientFrame), ...frameSchemas(ServerFrame)]);
    const rows = frameTableRows();
    assert.ok(rows.length > 20, "PROTOCOL.md has no frame tables headed `| type | fields |`");
    const wrong: string[] = [];
    for (const row of rows) {
      const schema = schemas.get(row.type);
      if (!schema) {
        wrong.push(`${row.type}: no such frame`);
        continue;
      }
      const documented = row.fields.map((f) => `${f.name}${f.optional ? "?" : ""}`).sort();
      const actual = Object.keys(schema.properties)
        .filter((name) => name !== "type")
        .map((name) => `${name}${schema.required.includes(name) ? "" : "?"}`)
        .sort();
      if (documented.join() !== actual.join())
        wrong.push(
          `${row.type}: the table says ${documented.join(", ")}; the schema has ${actual.join(", ")}`,
        );
    }
    assert.deepEqual(wrong, []);
  });

  test("states the protocol version the code speaks", () => {
    const stated = [...DOC.matchAll(/`PROTOCOL_VERSION = (\d+)`/g)].map((m) => Number(m[1]));
    assert.ok(stated.length > 0, "PROTOCOL.md does not state `PROTOCOL_VERSION = n`");
    for (const version of stated) assert.equal(version, PROTOCOL_VERSION);
  });
});

describe("docs/PROTOCOL.md audit log", () => {
  test("AUDIT-1 names every audit kind the server records", () => {
    const start = DOC.indexOf("**AUDIT-1**");
    const end = DOC.indexOf("**AUDIT-2**");
    assert.ok(start !== -1 && end > start, "PROTOCOL.md has no AUDIT-1 followed by AUDIT-2");
    const section = DOC.slice(start, end);
    assert.deepEqual(
      AUDIT_KINDS.filter((kind) => !section.includes(`\`${kind}\``)),
      [],
    );
  });
});

describe("docs/PROTOCOL.md rule ids", () => {
  test("knows every family of rule ids the spec defines, so citations of each are checked", () => {
    const families = new Set([...DOC.matchAll(/^\*\*([A-Z]+)-\d+\*\*/gm)].map((m) => m[1] as string));
    const unknown = [...families].filter((f) => !RULE_PREFIXES.split("|").includes(f));
    assert.deepEqual(unknown, []);
  });

  test("defines each rule id once", () => {
    const ids = definedRuleIds();
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(twice, []);
  });

  test("defines every rule id that the spec, the other docs and the code cite", () => {
    const defined = new Set(definedRuleIds());
    const cited = new Map<string, string>();
    for (const id of citedRuleIds(DOC)) cited.set(id, "docs/PROTOCOL.md");
    const files = [
      ...sourceFiles(join(ROOT, "packages")),
      ...sourceFiles(join(ROOT, "test")),
      ...sourceFiles(join(ROOT, "docs")),
    ];
    for (const file of files) {
      for (const id of citedRuleIds(readFileSync(file, "utf8"))) cited.set(id, file.slice(ROOT.length));
    }
    const undefinedIds = [...cited].filter(([id]) => !defined.has(id)).map(([id, file]) => `${id} (${file})`);
    assert.deepEqual(undefinedIds, []);
  });
});
