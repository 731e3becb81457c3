/** CHAT-1..5: how replies, reactions, edits, deletes and mentions change the messages they name. Pure. */
import type { MemberView } from "@parley/protocol";
import type { ChatMessage, MessageKey, PendingChange, ReactionEntry } from "./types.js";

/** CHAT-3: how long after sending its author may edit a message, by default (ms): 24 hours. */
export const EDIT_WINDOW_MS = 24 * 60 * 60_000;
/** Changes kept per conversation while their message has not arrived; the oldest go first. */
export const PENDING_MAX = 500;
/** The characters of a quoted message shown in a reply. */
export const EXCERPT_CHARS = 80;

/** Whether `a` came after `b`: by their senders' times, then ids (RCPT-3). */
function later(a: { at: number; id: string }, b: { at: number; id: string }): boolean {
  return a.at > b.at || (a.at === b.at && a.id > b.id);
}

export function sameMessage(m: MessageKey, k: MessageKey): boolean {
  return m.key === k.key && m.fromId === k.fromId;
}

/**
 * What a change does to its message: the message as changed, or `m` itself when the change is
 * ignored. Edits and deletes count only from the message's own sender (CHAT-3, CHAT-4): one
 * from anyone else is forged and changes nothing. A deleted message takes no change; an edit
 * counts within `editWindowMs` of the message's time; of two edits or two reactions of one
 * person with one emoji, the later (by sender's time, then id) wins whatever the arrival order.
 */
export function applyChange(m: ChatMessage, c: PendingChange, editWindowMs: number): ChatMessage {
  if (m.system === true || m.deleted === true || !sameMessage(m, c.target)) return m;
  switch (c.change.kind) {
    case "reaction": {
      const { emoji, on } = c.change;
      const list = m.reactions ?? [];
      const old = list.find((r) => r.userId === c.by.id && r.emoji === emoji);
      if (old !== undefined && !later(c, old)) return m;
      const entry: ReactionEntry = {
        emoji,
        userId: c.by.id,
        username: c.by.username,
        on,
        at: c.at,
        id: c.id,
      };
      return {
        ...m,
        reactions: old === undefined ? [...list, entry] : list.map((r) => (r === old ? entry : r)),
      };
    }
    case "edit": {
      if (c.by.id !== m.fromId || c.at - m.ts > editWindowMs) return m;
      if (m.edited !== undefined && !later(c, m.edited)) return m;
      const { mentions: _old, ...rest } = m;
      return {
        ...rest,
        text: c.change.text,
        ...(c.change.mentions !== undefined && c.change.mentions.length > 0
          ? { mentions: c.change.mentions }
          : {}),
        edited: { at: c.at, id: c.id },
      };
    }
    case "delete": {
      if (c.by.id !== m.fromId) return m;
      return tombstone(m);
    }
  }
}

/** CHAT-4: what is left of a deleted message: who sent it and when, nothing of what it said. */
export function tombstone(m: ChatMessage): ChatMessage {
  return {
    key: m.key,
    roomId: m.roomId,
    fromId: m.fromId,
    fromName: m.fromName,
    ts: m.ts,
    text: "",
    own: m.own,
    ...(m.status !== undefined ? { status: m.status } : {}),
    ...(m.progress !== undefined ? { progress: m.progress } : {}),
    ...(m.trust !== undefined ? { trust: m.trust } : {}),
    ...(m.expiresAt !== undefined ? { expiresAt: m.expiresAt } : {}),
    deleted: true,
  };
}

/** Applies, in their senders' order, the waiting changes that name `m`; returns it and the rest. */
export function applyPending(
  m: ChatMessage,
  pending: readonly PendingChange[],
  editWindowMs: number,
): { message: ChatMessage; rest: PendingChange[] } {
  const mine = pending.filter((c) => sameMessage(m, c.target)).sort((a, b) => (later(a, b) ? 1 : -1));
  let message = m;
  for (const c of mine) message = applyChange(message, c, editWindowMs);
  return { message, rest: pending.filter((c) => !sameMessage(m, c.target)) };
}

/** CHAT-2: reactions as a view shows them: per emoji (in order of the first), who and how many. */
export interface ReactionGroup {
  readonly emoji: string;
  readonly count: number;
  readonly userIds: readonly string[];
  readonly usernames: readonly string[];
  /** This user is among them (reacting again takes it back). */
  readonly mine: boolean;
}

export function reactionGroups(m: ChatMessage, me: string | undefined): ReactionGroup[] {
  const groups = new Map<string, ReactionEntry[]>();
  for (const r of [...(m.reactions ?? [])].sort((a, b) => (later(a, b) ? 1 : -1))) {
    if (!r.on) continue;
    groups.set(r.emoji, [...(groups.get(r.emoji) ?? []), r]);
  }
  return [...groups].map(([emoji, list]) => ({
    emoji,
    count: list.length,
    userIds: list.map((r) => r.userId),
    usernames: list.map((r) => r.username),
    mine: list.some((r) => r.userId === me),
  }));
}

/** Whether this user's reaction `emoji` is on `m` now (so reacting again takes it back). */
export function hasReacted(m: ChatMessage, me: string, emoji: string): boolean {
  return (m.reactions ?? []).some((r) => r.userId === me && r.emoji === emoji && r.on);
}

/** CHAT-1: what a reply shows of the message it answers. */
export interface Quote {
  readonly key: string;
  readonly fromId: string;
  /** The sender's name, or undefined when the message is not on this device. */
  readonly fromName: string | undefined;
  /** The start of its text on one line; empty when it is deleted or not on this device. */
  readonly excerpt: string;
  readonly state: "shown" | "deleted" | "missing";
}

export function quote(target: ChatMessage | undefined, ref: MessageKey): Quote {
  if (target === undefined) return { ...ref, fromName: undefined, excerpt: "", state: "missing" };
  if (target.deleted === true) return { ...ref, fromName: target.fromName, excerpt: "", state: "deleted" };
  return { ...ref, fromName: target.fromName, excerpt: excerpt(target.text), state: "shown" };
}

/** A text's start on one line, at most EXCERPT_CHARS characters, "…" when cut. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  const line = [...text.replace(/\s+/g, " ").trim()];
  return line.length <= max ? line.join("") : `${line.slice(0, max - 1).join("")}…`;
}

/** AUTH-1's user names after an "@" that does not follow a name character. */
const MENTION = /(^|[^A-Za-z0-9._@-])@([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/g;

/** CHAT-5: the members a text names with "@name" (compared as the server compares names). */
export function mentionsIn(text: string, members: readonly MemberView[]): string[] {
  const byName = new Map(members.map((m) => [m.username.toLowerCase(), m.userId]));
  const out = new Set<string>();
  for (const match of text.matchAll(MENTION)) {
    const id = byName.get((match[2] ?? "").toLowerCase());
    if (id !== undefined) out.add(id);
  }
  return [...out];
}

/**
 * CHAT-5: a text cut into plain parts and "@name" parts naming a member (for highlighting);
 * `userId` is the member named.
 */
export function mentionParts(
  text: string,
  members: readonly MemberView[],
): { text: string; userId?: string }[] {
  const byName = new Map(members.map((m) => [m.username.toLowerCase(), m.userId]));
  const parts: { text: string; userId?: string }[] = [];
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    const name = match[2] ?? "";
    const id = byName.get(name.toLowerCase());
    if (id === undefined) continue;
    const start = (match.index ?? 0) + (match[1] ?? "").length;
    if (start > at) parts.push({ text: text.slice(at, start) });
    parts.push({ text: `@${name}`, userId: id });
    at = start + name.length + 1;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}
