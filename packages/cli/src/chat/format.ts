// How `parley chat` prints messages, notices, warnings, help and safety numbers on a plain terminal.
import { safetyNumberRows as layoutRows, type TrustState } from "@parley/client";
import type { InfoResponse, MlsSuite } from "@parley/protocol";
import { printable } from "../printable.js";
import { COMMAND_HELP, commandOf, HELP_TOPICS } from "./input.js";

/**
 * How `parley chat` shows things: plain lines for a plain 80-column terminal, no colour, no
 * cursor tricks. Everything that came from the network passes through printable() here, so an
 * escape sequence in a message or a user name can never rewrite the screen.
 */

/** The mark after a sender's name: what this user knows about the sender's keys. */
export const TRUST_MARK: Record<TrustState, string> = {
  verified: "+",
  unverified: "?",
  changed: "!",
  changed_unverified: "~",
};

export const MARK_LEGEND = "marks: + verified, ? unverified, ! verified identity changed, ~ identity changed";

/** Every command, one row each, aligned. */
export const COMMAND_HELP_LINES: readonly string[] = COMMAND_HELP.map(
  ([usage, what]) => `  ${usage.padEnd(26)} ${what}`,
);

/** /help: the topics, each with what it covers; fits 80x24 with the prompt. */
export const HELP_OVERVIEW_LINES: readonly string[] = [
  "Type a message and press Enter to send it to the current conversation.",
  "Messages are numbered (#n) for /reply, /react, /edit, /delete, /info and /get.",
  "",
  "Help topics (/help <topic> lists its commands):",
  ...HELP_TOPICS.map((t) => `  ${t.name.padEnd(10)} ${t.about}`),
  "",
  `  ${"/help all".padEnd(10)} every command (${COMMAND_HELP.length} rows)`,
  `  ${"/quit".padEnd(10)} leave parley chat (also Ctrl-D)`,
  "",
  MARK_LEGEND,
];

/**
 * /help <topic>: its commands, aligned; "all": every command; undefined for an unknown topic
 * (a prefix is enough: "/help mess").
 */
export function helpTopicLines(topic: string): string[] | undefined {
  if (topic === "all") return [...COMMAND_HELP_LINES];
  const t = HELP_TOPICS.find((x) => x.name === topic) ?? HELP_TOPICS.find((x) => x.name.startsWith(topic));
  if (t === undefined) return undefined;
  const rows = t.commands.flatMap((c) => COMMAND_HELP.filter(([usage]) => commandOf(usage) === c));
  return [`${t.name}: ${t.about}`, ...rows.map(([usage, what]) => `  ${usage.padEnd(26)} ${what}`)];
}

/** "14:05", local time. */
/** "2026-12-07 07:40" in local time: when a device was added. */
export function dateTime(ts: number): string {
  const d = new Date(ts);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

export function clock(ts: number): string {
  const d = new Date(ts);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

export interface MessageLine {
  readonly ts: number;
  /** Where it was said, when that is not the current conversation ("#team", "@alice"). */
  readonly where: string | undefined;
  readonly sender: string;
  /** Undefined for this user's own messages. */
  readonly trust: TrustState | undefined;
  readonly text: string;
  /** CHAT-1: the start of the message it replies to, with its sender ("bob: lunch?"). */
  readonly quote?: string | undefined;
  /** CHAT-3 */
  readonly edited?: boolean | undefined;
  /** CHAT-4: shown as "(message deleted)" instead of a text. */
  readonly deleted?: boolean | undefined;
  /** CHAT-2: "👍 2 🎉 1". */
  readonly reactions?: string | undefined;
}

/** "14:05 #team <alice?> hello", or "14:05 <alice?> hello" in the current conversation. */
export function formatMessage(m: MessageLine): string {
  const mark = m.trust === undefined ? "" : TRUST_MARK[m.trust];
  const where = m.where === undefined ? "" : `${printable(m.where)} `;
  const quote = m.quote === undefined ? "" : `[re ${printable(m.quote)}] `;
  const text = m.deleted === true ? "(message deleted)" : printable(m.text);
  const edited = m.edited === true ? " (edited)" : "";
  const reactions = m.reactions === undefined || m.reactions === "" ? "" : ` [${printable(m.reactions)}]`;
  return `${clock(m.ts)} ${where}<${printable(m.sender)}${mark}> ${quote}${text}${edited}${reactions}`;
}

/** "14:05 -- text", for notices (joins, presence, connection). */
export function formatNotice(ts: number, text: string): string {
  return `${clock(ts)} -- ${printable(text)}`;
}

/** "!! text": warnings that must not be missed (changed keys, refusals). */
export function formatWarning(text: string): string {
  return `!! ${printable(text)}`;
}

/**
 * What a new password must be on this server, said before /register asks for one: "passwords
 * here need 12 to 256 characters, an uppercase letter and a special character (!"#$%&'()*+,…),
 * and may not be a commonly used password or contain the username".
 */
export function passwordRequirements(policy: InfoResponse["passwordPolicy"]): string {
  const needs = [`${policy.minLength} to ${policy.maxLength} characters`];
  if (policy.requireUppercase) needs.push("an uppercase letter");
  if (policy.requireSpecial) needs.push(`a special character (${policy.specialCharacters.slice(0, 12)}…)`);
  const not = [
    ...(policy.rejectCommon ? ["be a commonly used password"] : []),
    ...(policy.rejectUsername ? ["contain the username"] : []),
  ];
  const last = needs.pop();
  const need = needs.length > 0 ? `${needs.join(", ")} and ${last}` : last;
  return `passwords here need ${need}${not.length > 0 ? `, and may not ${not.join(" or ")}` : ""}`;
}

/**
 * A conversation's MLS cipher suite (docs/PROTOCOL.md MLS-9) in its security details: whether
 * recordings of it stay secret against a future quantum computer.
 */
export function suiteLine(suite: MlsSuite | undefined): string {
  if (suite === undefined) return "key exchange: not in this conversation's group yet";
  return suite === "xwing"
    ? "key exchange: Post-quantum: X-Wing (ML-KEM-768 + X25519)"
    : "key exchange: X25519 (not post-quantum)";
}

/** A safety number's rows (the SDK's one layout, 3 rows of 4 groups), indented for the terminal. */
export function safetyNumberRows(groups: readonly string[]): string[] {
  return layoutRows(groups).map((row) => `    ${row}`);
}

/**
 * Breaks a line into rows of at most `width` code points, at spaces where it can, with
 * continuation rows indented by `indent` spaces. A word longer than a row is cut.
 */
export function wrap(line: string, width: number, indent = 6): string[] {
  const w = Math.max(20, width);
  const pad = " ".repeat(Math.min(indent, w - 10));
  const rows: string[] = [];
  let rest = [...line];
  let first = true;
  while (rest.length > 0) {
    const room = first ? w : w - pad.length;
    if (rest.length <= room) {
      rows.push((first ? "" : pad) + rest.join(""));
      break;
    }
    let cut = rest.lastIndexOf(" ", room);
    if (cut <= 0) cut = room;
    rows.push((first ? "" : pad) + rest.slice(0, cut).join("").trimEnd());
    rest = rest.slice(cut);
    while (rest[0] === " ") rest.shift();
    first = false;
  }
  return rows.length === 0 ? [""] : rows;
}
