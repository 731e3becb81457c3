/** Turns the chat model's changes into `parley chat`'s lines: messages with their numbers, notices, warnings, the prompt with transfers and typing, and a conversation's kept messages on opening it. */

import {
  type ChatChange,
  type ChatMessage,
  type ChatModel,
  describeDisappearing,
  deviceNotesIn,
  excerpt,
  type IdentityChange,
  type MembershipEvent,
  type MessageChange,
  mentionsUser,
  type Person,
  reactionGroups,
} from "@parley/client";
import { assertNever } from "@parley/protocol";
import { printable } from "../printable.js";
import { warnPolicy } from "./commands/server.js";
import type { ChatContext } from "./context.js";
import { formatMessage, formatNotice } from "./format.js";
import { describeAttachment, progressBar } from "./transfers.js";

/** The newest messages shown on opening a conversation. */
const SHOWN_ON_OPEN = 20;
/** The characters of a quoted message in a reply's line. */
const QUOTE_CHARS = 24;

/**
 * The terminal's rendering adapter: the one place that decides how the model looks on a
 * terminal. It reads the controller through ChatContext and never runs a command.
 */
export class ChatView {
  readonly #ctx: ChatContext;
  /** Transfers shown: message key -> the last quarter printed (without a terminal, lines mark progress). */
  readonly #shown = new Map<string, number>();
  #offline = false;

  constructor(ctx: ChatContext) {
    this.#ctx = ctx;
  }

  /** "report.pdf [####----]  40% | #team (alice typing)> ": transfers, then the conversation. */
  prompt(): string {
    return `${this.#progress()}${this.#ctx.state.prompt()}`;
  }

  /** A new sign-in: the connection starts as connected. */
  reset(): void {
    this.#offline = false;
  }

  /** The running transfers as the prompt shows them: "report.pdf [####----]  40% | ". */
  #progress(): string {
    const s = this.#ctx.model?.snapshot;
    if (s === undefined) return "";
    const parts: string[] = [];
    for (const [key, t] of Object.entries(s.transfers)) {
      if (t.state !== "running") continue;
      const name = s.messages[t.roomId]?.find((m) => m.key === key)?.attachment?.name ?? "file";
      parts.push(
        `${t.direction === "upload" ? "^" : "v"} ${name.slice(0, 24)} ${progressBar(t.done, t.total, 12)}`,
      );
    }
    return parts.length === 0 ? "" : `${parts.join(" | ")} | `;
  }

  /** Without a terminal there is no prompt to redraw: a line at each quarter of a transfer. */
  #printProgress(): void {
    const s = this.#ctx.model?.snapshot;
    if (s === undefined || this.#ctx.screen.interactive) return;
    for (const [key, t] of Object.entries(s.transfers)) {
      if (t.state !== "running" || t.total === 0) continue;
      const quarter = Math.floor((t.done / t.total) * 4);
      if (quarter <= (this.#shown.get(key) ?? -1) || quarter >= 4) continue;
      this.#shown.set(key, quarter);
      const name = s.messages[t.roomId]?.find((m) => m.key === key)?.attachment?.name ?? "file";
      this.#ctx.notice(
        `${t.direction === "upload" ? "sending" : "getting"} ${name} ${progressBar(t.done, t.total)}`,
      );
    }
  }

  /** On opening a conversation: its newest kept messages, or what this device and the server keep. */
  async showKept(roomId: string): Promise<void> {
    const model = this.#ctx.chat();
    model.markRead(roomId);
    const list = model.snapshot.messages[roomId] ?? [];
    const shown = list.slice(-SHOWN_ON_OPEN);
    if (list.length > shown.length) this.#ctx.notice(`${list.length - shown.length} earlier messages kept`);
    // Device lines about the room's members (kept with the history) among the messages shown.
    const notes = deviceNotesIn(model.snapshot, roomId, shown[0]?.ts ?? 0);
    let next = 0;
    const printNotesUntil = async (ts: number) => {
      for (; next < notes.length && (notes[next]?.at ?? 0) < ts; next++) {
        const d = notes[next];
        if (d !== undefined)
          this.#ctx.screen.printAs(
            "notice",
            formatNotice(d.at, `${await this.#personName(model, d.userId)} ${d.kind} a device`),
          );
      }
    };
    for (const m of shown) {
      await printNotesUntil(m.ts);
      this.printMessage(m, true);
    }
    await printNotesUntil(Number.POSITIVE_INFINITY);
    if (this.#ctx.retention.keep === "none") this.#ctx.notice("This device keeps no history (see /history)");
    if (list.length === 0 && (await this.#ctx.serverInfo())?.storage.messages === "none") {
      this.#ctx.notice(
        "This server keeps no messages: a message reaches a teammate's device only while it, or one of you, is online",
      );
    }
    const timer = model.snapshot.disappearing[roomId];
    if (timer !== undefined) this.#ctx.notice(`disappearing messages: ${describeDisappearing(timer)}`);
  }

  /** A conversation's name, with its unread count when it has one: "ops (3)". */
  withUnread(roomId: string): string {
    const n = this.#ctx.chat().snapshot.unread[roomId] ?? 0;
    return n > 0 ? `${this.#ctx.state.label(roomId)} (${n})` : this.#ctx.state.label(roomId);
  }

  async onChange(model: ChatModel, change: ChatChange): Promise<void> {
    switch (change.type) {
      case "message":
        return this.#onMessage(change.message);
      case "membership":
        return this.#onMembership(change.event);
      case "conversation":
        if (change.isNew && change.room.kind === "direct")
          this.#ctx.notice(`${this.#ctx.state.label(change.room.id)} opened a direct conversation`);
        return;
      case "identity_changed":
        return this.#onIdentityChanged(model, change.change);
      case "device_added":
        return this.#onDeviceNote(model, change.userId, "added");
      case "device_removed":
        return this.#onDeviceNote(model, change.userId, "removed");
      case "this_device_removed":
        this.#ctx.warn(
          "This device was removed from your account by another of your devices: its keys and history were erased. /login and link it again to use it.",
        );
        return;
      case "typing":
        if (change.roomId === this.#ctx.state.current?.id) this.#ctx.updatePrompt();
        return;
      case "presence": {
        const p = change.event;
        if (model.follows(p.userId)) this.#ctx.notice(`${p.username} is ${p.online ? "online" : "offline"}`);
        return;
      }
      case "invited": {
        const i = change.invitation;
        this.#ctx.notice(
          `${i.by.username} invited you to #${printable(i.room.name)} (${i.room.id}): /accept ${i.room.id} or /decline ${i.room.id}`,
        );
        return;
      }
      case "status": {
        const s = change.status;
        if (s.state === "connected" && this.#offline) {
          this.#offline = false;
          this.#ctx.notice("connected again");
        } else if (s.state === "reconnecting" && !this.#offline) {
          this.#offline = true;
          this.#ctx.notice(`connection lost (${s.reason}); reconnecting`);
        } else if (s.state === "offline" && s.reason === "signed_out") {
          this.#ctx.warn("the server ended this session: /login again");
        } else if (s.state === "offline" && s.reason === "session_ended") {
          this.#ctx.warn(
            "this session was ended from another of your sessions (or by an admin): /login again",
          );
        } else if (s.state === "offline" && s.reason === "account_deleted") {
          this.#ctx.warn("this account was deleted");
        }
        return;
      }
      case "error": {
        const e = change.event;
        if (e.code === "closed" || e.code === "not_connected") return;
        const where = e.roomId !== undefined ? ` in ${this.#ctx.state.label(e.roomId)}` : "";
        this.#ctx.warn(`${e.error.message}${where} (${e.code})`);
        return;
      }
      // A failed send is reported by the command that sent it; the rest is shown when asked for.
      case "state":
        for (const line of this.#ctx.own.changes(model.snapshot.messages)) this.#ctx.notice(line);
        this.#printProgress();
        this.#ctx.updatePrompt();
        return;
      case "changed":
        return this.#onChanged(change.message, change.change, change.by);
      case "followed_post": {
        // Once per room: /rooms lists the offers with how many posts each has seen.
        if (!change.isNew) return;
        const { post } = change;
        this.#ctx.notice(
          `${post.by.username} (followed) posted in a public room you are not in (id ${post.roomId}): /join ${post.roomId} to read what is said there from now on`,
        );
        return;
      }
      case "policy_changed":
        // A server restarted with other settings (or another key) since the last check.
        return warnPolicy(this.#ctx, change.check);
      case "failed":
      case "queue_missed":
        return;
      default:
        return assertNever(change);
    }
  }

  #onMessage(m: ChatMessage): void {
    const room = this.#ctx.state.room(m.roomId);
    const here = this.#ctx.state.current?.id === room?.id && room !== undefined;
    this.printMessage(m, here);
    // A terminal cannot tell whether the person is looking: the bell goes by the level alone,
    // and the terminal (or tmux, for a window out of view) decides what a bell does.
    if (this.#ctx.chat().alerts(m, { visible: false, open: here })) this.#ctx.screen.bell();
  }

  printMessage(m: ChatMessage, here: boolean): void {
    const where = here ? undefined : this.#ctx.state.label(m.roomId);
    if (m.system === true) {
      this.#ctx.screen.printAs(
        "notice",
        formatNotice(m.ts, where === undefined ? m.text : `${where}: ${m.text}`),
      );
      return;
    }
    const style = m.own ? "own" : mentionsUser(m, this.#ctx.state.me?.id) ? "mention" : "plain";
    this.#ctx.screen.printAs(style, `${this.line(m, where)} #${this.#ctx.numbers.of(m)}`);
  }

  /** A message's line without its number: sender, the quote it replies to, text, edited, reactions. */
  line(m: ChatMessage, where: string | undefined): string {
    const model = this.#ctx.chat();
    const q = model.quoteOf(m);
    const quote =
      q === undefined
        ? undefined
        : q.state === "missing"
          ? "a message not on this device"
          : `${q.fromName ?? "?"}: ${q.state === "deleted" ? "(message deleted)" : excerpt(q.excerpt, QUOTE_CHARS)}`;
    return formatMessage({
      ts: m.ts,
      where,
      sender: m.fromName,
      trust: m.own ? undefined : m.trust,
      text: m.attachment !== undefined ? describeAttachment(m.attachment) : m.text,
      quote,
      edited: m.edited !== undefined,
      deleted: m.deleted === true,
      reactions: reactionGroups(m, this.#ctx.state.me?.id)
        .map((g) => `${g.emoji} ${g.count}`)
        .join(" "),
    });
  }

  /** CHAT-2..4: one line for a reaction, an edit or a delete, naming the message by its number. */
  #onChanged(m: ChatMessage, change: MessageChange, by: Person): void {
    const who = by.id === this.#ctx.state.me?.id ? "you" : by.username;
    const n = `#${this.#ctx.numbers.of(m)}`;
    const where = this.#ctx.state.current?.id === m.roomId ? "" : ` in ${this.#ctx.state.label(m.roomId)}`;
    switch (change.kind) {
      case "reaction": {
        const now = reactionGroups(m, this.#ctx.state.me?.id)
          .map((g) => `${g.emoji} ${g.count}: ${g.usernames.join(", ")}`)
          .join("; ");
        this.#ctx.notice(
          change.on
            ? `${who} reacted ${change.emoji} to ${n}${where} (${now})`
            : `${who} took back ${change.emoji} on ${n}${where}${now === "" ? "" : ` (${now})`}`,
        );
        return;
      }
      case "edit":
        this.#ctx.notice(`${who} edited ${n}${where}: ${m.text}`);
        return;
      case "delete":
        this.#ctx.notice(`${who} deleted ${n}${where} for everyone`);
        return;
      default:
        assertNever(change);
    }
  }

  /** Room events print as the conversation's system lines (#onMessage); here only what is not one. */
  #onMembership(m: Extract<MembershipEvent, { source: "room" }>): void {
    if (m.event === "removed" && m.userId === this.#ctx.state.me?.id) {
      this.#ctx.warn(
        `you were removed from ${this.#ctx.state.label(m.roomId)}${m.by ? ` by ${m.by.username}` : ""}`,
      );
    }
  }

  async #onIdentityChanged(model: ChatModel, c: IdentityChange): Promise<void> {
    const name = model.nameOf(c.userId) ?? (await this.#lookupName(model, c.userId)) ?? c.userId;
    if (c.wasVerified) {
      this.#ctx.warn(
        `WARNING: ${name}'s identity key changed since you verified it. If they did not tell you they reset it, someone may be listening in. Compare safety numbers: /verify ${name}`,
      );
    } else {
      this.#ctx.notice(
        `${name}'s identity key changed (they may have reset it). To be sure: /verify ${name}`,
      );
    }
  }

  async #onDeviceNote(model: ChatModel, userId: string, kind: "added" | "removed"): Promise<void> {
    this.#ctx.notice(`${await this.#personName(model, userId)} ${kind} a device`);
  }

  async #personName(model: ChatModel, userId: string): Promise<string> {
    return userId === this.#ctx.state.me?.id
      ? "you"
      : (model.nameOf(userId) ?? (await this.#lookupName(model, userId)) ?? userId);
  }

  async #lookupName(model: ChatModel, userId: string): Promise<string | undefined> {
    try {
      await model.refreshPeople();
    } catch {
      return undefined;
    }
    return model.nameOf(userId);
  }
}
