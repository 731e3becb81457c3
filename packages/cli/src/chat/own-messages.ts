/** The terminal client's view of delivery (RCPT-2): numbers this session's own messages, says when one is delivered or read, and answers /info. */
import { type ChatMessage, type DeliveryInfo, type OutgoingStatus, waitingNote } from "@parley/client";
import { printable } from "../printable.js";
import type { MessageNumbers } from "./numbers.js";

/** Own messages followed for /info and delivery notices, most recent. */
const KEPT = 200;

/** RCPT-2: one marker per state, after an own message's line and in /info. */
export const STATUS_MARK: Record<OutgoingStatus, string> = {
  sending: "[sending]",
  sent: "[sent]",
  delivered: "[delivered]",
  read: "[read]",
  failed: "[not sent]",
};

/**
 * A plain terminal prints each line once, so an own message shows its number and state when it
 * is sent ("#3 [sent]"), and a notice follows when it becomes delivered or read; /info <n>
 * shows who has it, device by device.
 */
export class OwnMessages {
  readonly #byNumber = new Map<number, { key: string; roomId: string }>();
  readonly #shown = new Map<string, OutgoingStatus>();

  /** Numbers are shared with every message printed (numbers.ts). */
  constructor(private readonly numbers: MessageNumbers) {}

  /** Numbers a message just sent; returns the mark to print after its line. */
  sent(m: ChatMessage): string {
    const n = this.numbers.of(m);
    this.#byNumber.set(n, { key: m.key, roomId: m.roomId });
    if (this.#byNumber.size > KEPT) {
      const oldest = this.#byNumber.keys().next().value;
      if (oldest !== undefined) this.#byNumber.delete(oldest);
    }
    const status = m.status ?? "sent";
    this.#shown.set(m.key, status);
    return `#${n} ${STATUS_MARK[status]}`;
  }

  /** Notices for own messages that became delivered or read since last asked. */
  changes(messages: Readonly<Record<string, readonly ChatMessage[]>>): string[] {
    const out: string[] = [];
    for (const [n, { key, roomId }] of this.#byNumber) {
      const m = messages[roomId]?.find((x) => x.key === key && x.status !== undefined);
      const before = this.#shown.get(key);
      if (m?.status === undefined || m.status === before) continue;
      this.#shown.set(key, m.status);
      if (m.status === "delivered" || m.status === "read") out.push(`#${n} ${STATUS_MARK[m.status]}`);
    }
    return out;
  }

  /** The message numbered `n`, if this session sent it. */
  find(n: number): { key: string; roomId: string } | undefined {
    return this.#byNumber.get(n);
  }

  /** /info <n>: the state, "n of m", each device, who read it, and what a storage-less server means. */
  static describe(n: number, text: string, info: DeliveryInfo, keepsNoMessages: boolean): string[] {
    const lines = [
      `#${n} ${STATUS_MARK[info.status]} "${printable(text.length > 40 ? `${text.slice(0, 39)}…` : text)}": ` +
        `delivered to ${info.delivered} of ${info.of} devices`,
    ];
    for (const d of info.devices)
      lines.push(`  ${printable(d.username)} (${d.label}): ${d.received ? "has it" : "waiting"}`);
    if (info.readBy.length > 0)
      lines.push(`  read by ${info.readBy.map((p) => printable(p.username)).join(", ")}`);
    const note = waitingNote(info, keepsNoMessages);
    if (note !== undefined) lines.push(`  ${printable(note)}`);
    return lines;
  }
}
