import fc from "fast-check";

/**
 * fast-check arbitraries built from the protocol's own TypeBox (JSON Schema) schemas, so the
 * fuzzer follows the protocol as it changes: valid values of a schema, and mutations of them
 * (wrong types, oversize strings, missing and extra fields, prototype keys, unicode edge cases,
 * truncated JSON).
 */
export interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

/** Values to prefer for a property of this name (real room and user ids make deeper paths reachable). */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

/** Strings a parser or terminal trips on: controls, bidi overrides, zero-width, lone surrogates, emoji. */
const EDGE_STRINGS = [
  "",
  "\u0000",
  "\u001b[2J\u001b[31m",
  "\u202e\u2066evil\u2069",
  "\u200b\u200c\u200d\ufeff",
  "\ud800",
  "\udfff\ud800",
  "👩‍👩‍👧‍👦🏳️‍🌈",
  "e\u0301\u0301\u0301",
  "\uffff\ufffe",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "%00%ff",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "__proto__",
  "constructor",
];

export const edgeString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...EDGE_STRINGS),
  fc.array(fc.constantFrom(...EDGE_STRINGS), { minLength: 1, maxLength: 5 }).map((a) => a.join("")),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
);

function stringOf(s: JsonSchema, key: string | undefined, hints: Hints): fc.Arbitrary<string> {
  const hint = key !== undefined ? hints[key] : undefined;
  let base: fc.Arbitrary<string>;
  if (s.pattern !== undefined) base = fc.stringMatching(new RegExp(s.pattern));
  else {
    const minLength = s.minLength ?? 0;
    const maxLength = Math.min(s.maxLength ?? 80, 200);
    base = fc.oneof(
      fc.string({ minLength, maxLength }),
      fc.string({ unit: "grapheme", minLength, maxLength }),
      fc.string({ unit: "binary", minLength, maxLength }),
    );
    if (s.maxLength !== undefined) base = base.filter((v) => v.length <= (s.maxLength as number));
  }
  return hint ? fc.oneof({ arbitrary: hint as fc.Arbitrary<string>, weight: 3 }, base) : base;
}

/** A value that satisfies `schema` (as far as the subset of JSON Schema the protocol uses goes). */
export function valid(schema: JsonSchema, hints: Hints = {}, key?: string): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => valid(s, hints, key)));
  switch (schema.type) {
    case "object": {
      const props = schema.properties ?? {};
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of Object.entries(props)) model[k] = valid(s, hints, k);
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in props) });
    }
    case "string":
      return stringOf(schema, key, hints);
    case "integer": {
      const hint = key !== undefined ? hints[key] : undefined;
      const base = fc.integer({ min: schema.minimum ?? -(2 ** 31), max: schema.maximum ?? 2 ** 31 });
      return hint ? fc.oneof(hint, base) : base;
    }
    case "number":
      return fc.double({
        noNaN: true,
        noDefaultInfinity: true,
        ...(schema.minimum !== undefined ? { min: schema.minimum } : {}),
        ...(schema.maximum !== undefined ? { max: schema.maximum } : {}),
      });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(valid(schema.items ?? {}, hints, key), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Anything JSON, of any type: what a wrong-type mutation puts in place of a field. */
const anyJson = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  edgeString,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.constantFrom(2 ** 53, -(2 ** 53), 1e308, -0, 1.5),
);

type Mutation =
  | { kind: "wrong_type"; value: unknown }
  | { kind: "oversize"; extra: number }
  | { kind: "drop" }
  | { kind: "extra"; key: string; value: unknown }
  | { kind: "edge_string"; value: string }
  | { kind: "proto"; which: "__proto__" | "constructor" }
  | { kind: "truncate"; at: number }
  | { kind: "not_object"; value: unknown };

/** Every path to a leaf (or object) value inside `v`, the root excluded. */
function paths(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== "object") return [];
  const out: string[][] = [];
  for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
    out.push([...prefix, k]);
    out.push(...paths(child, [...prefix, k]));
  }
  return out;
}

function setAt(root: unknown, path: string[], f: (old: unknown) => unknown | undefined): unknown {
  const copy = structuredClone(root) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  const next = f(node[last]);
  if (next === undefined) delete node[last];
  else node[last] = next;
  return copy;
}

/** The JSON text of `value` after `m`. Prototype keys are written into the text, where JSON.parse keeps them. */
function applyMutation(value: unknown, m: Mutation, pick: number, keepType: boolean): string {
  const all = paths(value).filter((p) => !(keepType && p.length === 1 && p[0] === "type"));
  const path = all.length > 0 ? (all[pick % all.length] as string[]) : [];
  switch (m.kind) {
    case "wrong_type":
      return JSON.stringify(path.length ? setAt(value, path, () => m.value) : m.value);
    case "oversize":
      return JSON.stringify(
        path.length
          ? setAt(value, path, (old) => (typeof old === "string" ? old : "") + "A".repeat(m.extra))
          : value,
      );
    case "drop":
      return JSON.stringify(path.length ? setAt(value, path, () => undefined) : {});
    case "extra":
      return JSON.stringify({ ...(value as object), [m.key]: m.value });
    case "edge_string":
      return JSON.stringify(path.length ? setAt(value, path, () => m.value) : m.value);
    case "proto": {
      const text = JSON.stringify(value);
      const inject =
        m.which === "__proto__"
          ? '"__proto__":{"isAdmin":true,"polluted":1}'
          : '"constructor":{"prototype":{"isAdmin":true,"polluted":1}}';
      return text.startsWith("{") && text.length > 2 ? `{${inject},${text.slice(1)}` : `{${inject}}`;
    }
    case "truncate": {
      const text = JSON.stringify(value);
      return text.slice(0, m.at % Math.max(1, text.length));
    }
    case "not_object":
      return JSON.stringify(m.value);
  }
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("wrong_type" as const), value: anyJson }),
  fc.record({
    kind: fc.constant("oversize" as const),
    extra: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1000, max: 70_000 })),
  }),
  fc.record({ kind: fc.constant("drop" as const) }),
  fc.record({
    kind: fc.constant("extra" as const),
    key: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("isAdmin", "userId", "prototype", "from")),
    value: anyJson,
  }),
  fc.record({ kind: fc.constant("edge_string" as const), value: edgeString }),
  fc.record({ kind: fc.constant("proto" as const), which: fc.constantFrom("__proto__", "constructor") }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("not_object" as const), value: anyJson }),
);

export interface FuzzCase {
  /** The text sent on the wire. */
  text: string;
  /** What was done to a valid value (for the counterexample report). */
  how: string;
}

/**
 * JSON texts for `schema`: about a third valid, the rest valid values with one or two mutations.
 * `keepType` keeps the `type` tag of frames intact in most cases so the mutation reaches the
 * handler of that frame type instead of stopping at the tag.
 */
export function fuzzCases(schema: JsonSchema, hints: Hints = {}, keepType = true): fc.Arbitrary<FuzzCase> {
  const value = valid(schema, hints);
  return fc.oneof(
    { arbitrary: value.map((v) => ({ text: JSON.stringify(v), how: "valid" })), weight: 3 },
    {
      arbitrary: fc
        .tuple(value, fc.array(fc.tuple(mutation, fc.nat()), { minLength: 1, maxLength: 2 }))
        .map(([v, ms]) => {
          let text = JSON.stringify(v);
          for (const [m, pick] of ms) {
            let current: unknown;
            try {
              current = JSON.parse(text);
            } catch {
              break; // already truncated
            }
            text = applyMutation(current, m, pick, keepType);
          }
          return { text, how: ms.map(([m]) => m.kind).join("+") };
        }),
      weight: 6,
    },
  );
}
