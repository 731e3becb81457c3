import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  COMMAND_HELP_LINES,
  clock,
  formatMessage,
  HELP_OVERVIEW_LINES,
  helpTopicLines,
  MARK_LEGEND,
  safetyNumberRows,
  suiteLine,
  wrap,
} from "./format.js";
import { COMMAND_HELP, commandOf, HELP_TOPICS } from "./input.js";

const TS = new Date(2026, 0, 2, 9, 7).getTime();

describe("formatMessage", () => {
  it("shows time, sender and the sender's trust mark", () => {
    assert.equal(
      formatMessage({ ts: TS, where: undefined, sender: "alice", trust: "verified", text: "hi" }),
      "09:07 <alice+> hi",
    );
    assert.equal(
      formatMessage({ ts: TS, where: "#team", sender: "bob", trust: "changed", text: "x" }),
      "09:07 #team <bob!> x",
    );
    assert.equal(
      formatMessage({ ts: TS, where: undefined, sender: "me", trust: undefined, text: "y" }),
      "09:07 <me> y",
    );
  });

  it("replaces control characters from the network, so an escape sequence cannot reach the terminal", () => {
    const line = formatMessage({
      ts: TS,
      where: undefined,
      sender: "e\u001b[2Jvil",
      trust: "unverified",
      text: "a\u001b]0;t\u0007b\nc",
    });
    assert.equal(line, "09:07 <e?[2Jvil?> a?]0;t?b?c");
    assert.doesNotMatch(line, /\p{Cc}/u);
  });
});

describe("printable", () => {
  it("drops bidi overrides and isolates, so a name cannot reorder the rest of the line", () => {
    const line = formatMessage({
      ts: TS,
      where: "#ops\u202Etxt.exe",
      sender: "m\u2066allory\u2069",
      trust: undefined,
      text: "see \u202Dreport\u202C\u200F",
    });
    assert.equal(line, "09:07 #opstxt.exe <mallory> see report");
  });
});

describe("clock", () => {
  it("pads hours and minutes", () => {
    assert.equal(clock(TS), "09:07");
  });
});

describe("wrap", () => {
  it("leaves a short line alone", () => {
    assert.deepEqual(wrap("short line", 80), ["short line"]);
  });

  it("breaks at spaces into rows no wider than the terminal, indenting continuations", () => {
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
    const rows = wrap(words, 80, 6);
    assert.ok(rows.length > 1);
    for (const row of rows) assert.ok([...row].length <= 80, row);
    for (const row of rows.slice(1)) assert.ok(row.startsWith("      ") && row[6] !== " ", row);
    assert.equal(rows.map((r) => r.trim()).join(" "), words);
  });

  it("cuts a word longer than a row", () => {
    const rows = wrap("x".repeat(200), 80, 4);
    assert.deepEqual(
      rows.map((r) => r.length),
      [80, 80, 48],
    );
    assert.equal(rows.join("").replaceAll(" ", ""), "x".repeat(200));
  });
});

describe("safetyNumberRows", () => {
  it("shows 12 groups as 3 rows of 4", () => {
    const groups = Array.from({ length: 12 }, (_, i) => String(i).padStart(5, "0"));
    const rows = safetyNumberRows(groups);
    assert.equal(rows.length, 3);
    assert.equal(rows[0], "    00000 00001 00002 00003");
    assert.equal(rows.join(" ").split(/\s+/).filter(Boolean).length, 12);
  });
});

describe("/help", () => {
  it("fits every row in 80 columns, so nothing wraps in a plain terminal", () => {
    for (const row of [...COMMAND_HELP_LINES, MARK_LEGEND, ...HELP_OVERVIEW_LINES])
      assert.ok(row.length <= 80, row);
    assert.ok(COMMAND_HELP_LINES.some((r) => r.includes("/verify <user>")));
  });

  it("fits the overview and every topic on an 80x24 screen, with room for the prompt", () => {
    assert.ok(HELP_OVERVIEW_LINES.length <= 22, `overview: ${HELP_OVERVIEW_LINES.length} rows`);
    for (const t of HELP_TOPICS) {
      const lines = helpTopicLines(t.name) ?? [];
      assert.ok(lines.length >= 2 && lines.length <= 22, `${t.name}: ${lines.length} rows`);
      for (const row of lines) assert.ok(row.length <= 80, row);
    }
  });

  it("puts every command in exactly one topic, and finds a topic by its start", () => {
    const listed = HELP_TOPICS.flatMap((t) => t.commands);
    const all = COMMAND_HELP.map(([usage]) => commandOf(usage)).filter((c) => c !== "/help" && c !== "/quit");
    assert.deepEqual([...listed].sort(), [...all].sort());
    assert.equal(new Set(listed).size, listed.length);
    assert.deepEqual(helpTopicLines("mess"), helpTopicLines("messages"));
    assert.ok(helpTopicLines("messages")?.some((r) => r.includes("/reply <n> <text>")));
    assert.equal(helpTopicLines("nonsense"), undefined);
    assert.equal(helpTopicLines("all")?.length, COMMAND_HELP.length);
  });
});

describe("suiteLine", () => {
  it("names the post-quantum suite as such, and says when X25519 is not", () => {
    assert.equal(suiteLine("xwing"), "key exchange: Post-quantum: X-Wing (ML-KEM-768 + X25519)");
    assert.equal(suiteLine("x25519"), "key exchange: X25519 (not post-quantum)");
    assert.match(suiteLine(undefined), /not in this conversation's group/);
  });
});
