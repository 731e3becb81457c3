/** What this device sent and who acknowledged it (RCPT-2), what it received (RCPT-3), and what it sends again to a device that lacks it (RCPT-4, RCPT-5), kept sealed in the device store. */

import { bytesToUtf8, utf8ToBytes } from "@noble/ciphers/utils.js";
import type { DeviceRef, ServerFrameOf } from "@parley/protocol";
import {
  type Content,
  isMessageId,
  type Origin,
  type Stamp,
  type StampedContent,
  SYNC_IDS_MAX,
  type SyncNotice,
} from "./content.js";
import type { DeliveryEvent } from "./events.js";
import { parseJson } from "./json.js";
import type { DeviceStore } from "./store.js";

const SENT_KEY = "delivery/sent";
const RECEIVED_KEY = "delivery/received";
/** Own messages tracked at most; the oldest go first. */
const SENT_MAX = 2048;
/** Received ids remembered for de-duplication and sync notices (RCPT-3). */
const RECEIVED_MAX = 4096;
/** RCPT-5: messages in one redelivery batch, and their total text size. */
export const BATCH_MAX = 50;
const BATCH_BYTES_MAX = 64 * 1024;

interface SentRecord {
  readonly roomId: string;
  readonly id: string;
  readonly sent: number;
  /** Dropped once every target acknowledged it (RCPT-4: then nobody needs it again). */
  content?: Content;
  /** "deviceId userId" of every target device. */
  readonly targets: string[];
  delivered: string[];
  readBy: string[];
}

interface ReceivedRecord {
  readonly roomId: string;
  readonly from: string;
  readonly id: string;
  readonly sent: number;
  /** RCPT-6: what it takes to pass the message on, while `keepMs` lasts. */
  pass?: {
    readonly origin: Origin;
    readonly content: Content;
    readonly sig: string;
    /** "deviceId userId" of the group's devices when it was sent. */
    readonly targets: string[];
  };
}

/** RCPT-6: a message this device holds and may pass on, as received. */
export interface Passable {
  readonly origin: Origin;
  readonly content: Content;
  readonly sig: string;
  readonly members: readonly DeviceRef[];
}

/**
 * A device as SentRecord.targets and .delivered store it: "deviceId userId" (device ids have
 * no space, MLS-1). Not @parley/protocol's deviceKey: records already saved use this form.
 */
const targetKey = (d: DeviceRef) => `${d.deviceId} ${d.userId}`;
function deviceOf(key: string): DeviceRef {
  const i = key.indexOf(" ");
  return { deviceId: key.slice(0, i), userId: key.slice(i + 1) };
}

export interface RedeliveryOptions {
  readonly store: DeviceStore;
  readonly now: () => number;
  /** How long an own message is kept for devices that have not acknowledged it. Default 7 days. */
  readonly keepMs?: number;
  /** Whether this user shares read receipts, and so sees other people's (RCPT-2). */
  readReceipts(): boolean;
  /** A message's delivery state changed. */
  changed(event: DeliveryEvent): void;
}

/** What to do about another device's sync notice. */
export interface SyncAnswer {
  /** Own messages it lacks, to send again in one batch (RCPT-5). */
  readonly redeliver: readonly StampedContent[];
  /** Other devices' messages it lacks that this device holds, to pass on if nobody does first (RCPT-6). */
  readonly relay: readonly StampedContent[];
  /** Ids of its user's messages this device holds: acknowledge them again (RCPT-4). */
  readonly acknowledge: readonly string[];
  /** It named messages of its own that this device lacks: answer with this device's notice. */
  readonly reply: boolean;
}

/**
 * The sender's side of delivery: for each message this device sent, the member devices of its
 * MLS group at send time (never the server's word, RCPT-2), who acknowledged it and who read
 * it, and until all did, the plaintext, to send again re-encrypted in the current epoch with
 * the same id when a device that lacks it says it is back (RCPT-5). And the receiver's side:
 * the ids received lately, so a copy is dropped and a sync notice can say what is held.
 *
 * The plaintext kept here is outside MLS's forward secrecy (RFC 9750 §6.7) until it is
 * acknowledged or `keepMs` passes; it lives in the sealed device store like group states.
 */
export class Redelivery {
  readonly #o: RedeliveryOptions;
  #sent = new Map<string, SentRecord>();
  #received = new Map<string, ReceivedRecord>();
  #loaded: Promise<void> | undefined;
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;

  constructor(options: RedeliveryOptions) {
    this.#o = options;
  }

  get #keepMs(): number {
    return this.#o.keepMs ?? 7 * 24 * 3600 * 1000;
  }

  load(): Promise<void> {
    this.#loaded ??= (async () => {
      const [sent, received] = await Promise.all([
        this.#o.store.get(SENT_KEY),
        this.#o.store.get(RECEIVED_KEY),
      ]);
      for (const r of readList<SentRecord>(sent)) if (isMessageId(r.id)) this.#sent.set(r.id, r);
      for (const r of readList<ReceivedRecord>(received)) this.#received.set(`${r.from} ${r.id}`, r);
    })();
    return this.#loaded;
  }

  /** Call before the message goes to the server; `members` as the group held them for it. */
  async recordSent(
    roomId: string,
    stamp: Stamp,
    content: Content,
    members: readonly DeviceRef[],
    self: DeviceRef,
  ): Promise<void> {
    await this.load();
    const targets = members.map(targetKey).filter((k) => k !== targetKey(self));
    const record: SentRecord = { roomId, id: stamp.id, sent: stamp.sent, targets, delivered: [], readBy: [] };
    if (targets.length > 0) record.content = content;
    this.#sent.set(stamp.id, record);
    this.#trim();
    this.#save();
    this.#o.changed(this.#event(record));
  }

  /** The server refused it: nothing to track. */
  forgetSent(id: string): void {
    if (this.#sent.delete(id)) this.#save();
  }

  /**
   * CHAT-4: a message deleted for everyone by `from`, its sender: its text is not kept to send
   * or pass on again. A device that lacks it gets the delete instead; its delivery state stays.
   * `mine`: `from` is this device's own user, so the message may be one this device sent.
   */
  async forgetContent(roomId: string, from: string, id: string, mine: boolean): Promise<void> {
    await this.load();
    let changed = false;
    const own = mine ? this.#sent.get(id) : undefined;
    if (own !== undefined && own.roomId === roomId && own.content !== undefined) {
      delete own.content;
      changed = true;
    }
    const held = this.#received.get(`${from} ${id}`);
    if (held !== undefined && held.roomId === roomId && held.pass !== undefined) {
      delete held.pass;
      changed = true;
    }
    if (changed) this.#save();
  }

  /** The delivery state of an own message, or undefined when this device did not send it. */
  state(id: string): DeliveryEvent | undefined {
    const r = this.#sent.get(id);
    return r === undefined ? undefined : this.#event(r);
  }

  /** RCPT-2: another device's receipt, relayed by the server. */
  async receipt(frame: ServerFrameOf<"receipt.event">, me: string): Promise<void> {
    await this.load();
    const from = frame.from;
    for (const id of frame.ids) {
      const r = this.#sent.get(id);
      if (r === undefined || r.roomId !== frame.roomId) continue;
      let changed = this.#deliveredTo(r, from);
      if (
        frame.state === "read" &&
        from.userId !== me &&
        this.#o.readReceipts() &&
        !r.readBy.includes(from.userId)
      ) {
        r.readBy.push(from.userId);
        changed = true;
      }
      if (changed) this.#o.changed(this.#event(r));
    }
    this.#save();
  }

  /** RCPT-3: records a received message; false when it was held already (a copy). */
  async received(roomId: string, from: string, stamp: Stamp, pass?: Passable): Promise<boolean> {
    await this.load();
    const key = `${from} ${stamp.id}`;
    if (this.#received.has(key)) return false;
    const record: ReceivedRecord = { roomId, from, id: stamp.id, sent: stamp.sent };
    if (pass !== undefined && stamp.sent >= this.#o.now() - this.#keepMs) {
      record.pass = {
        origin: pass.origin,
        content: pass.content,
        sig: pass.sig,
        targets: pass.members.map(targetKey),
      };
    }
    this.#received.set(key, record);
    while (this.#received.size > RECEIVED_MAX) {
      const oldest = this.#received.keys().next().value;
      if (oldest === undefined) break;
      this.#received.delete(oldest);
    }
    this.#save();
    return true;
  }

  /** RCPT-4: this device's notice for a room: what it holds, and what of its own awaits acknowledgement. */
  async notice(roomId: string, reply = false): Promise<SyncNotice> {
    await this.load();
    this.#expire();
    const have = [...this.#received.values()].filter((r) => r.roomId === roomId).map((r) => r.id);
    const pending = [...this.#sent.values()]
      .filter((r) => r.roomId === roomId && r.delivered.length < r.targets.length)
      .map((r) => r.id);
    return {
      have: have.slice(-SYNC_IDS_MAX),
      pending: pending.slice(-SYNC_IDS_MAX),
      ...(reply ? { reply: true as const } : {}),
    };
  }

  /** Whether this device has messages awaiting acknowledgement in a room. */
  async hasPending(roomId: string): Promise<boolean> {
    await this.load();
    for (const r of this.#sent.values())
      if (r.roomId === roomId && r.delivered.length < r.targets.length) return true;
    return false;
  }

  /**
   * RCPT-4, RCPT-5: another device's notice. Ids it holds count as acknowledged by it (the
   * notice is MLS-authenticated: an end-to-end receipt); own messages whose send-time group
   * held it and that it lacks are sent again, oldest first, one bounded batch; its user's
   * messages this device holds are acknowledged again.
   */
  async sync(roomId: string, from: DeviceRef, notice: SyncNotice): Promise<SyncAnswer> {
    await this.load();
    this.#expire();
    const have = new Set(notice.have);
    const key = targetKey(from);
    const redeliver: StampedContent[] = [];
    let bytes = 0;
    const records = [...this.#sent.values()]
      .filter((r) => r.roomId === roomId)
      .sort((a, b) => a.sent - b.sent);
    for (const r of records) {
      if (!r.targets.includes(key) || r.delivered.includes(key)) continue;
      if (have.has(r.id)) {
        if (this.#deliveredTo(r, from)) this.#o.changed(this.#event(r));
        continue;
      }
      if (r.content === undefined || redeliver.length >= BATCH_MAX) continue;
      const size = JSON.stringify(r.content).length;
      if (redeliver.length > 0 && bytes + size > BATCH_BYTES_MAX) continue;
      bytes += size;
      redeliver.push({ content: r.content, stamp: { id: r.id, sent: r.sent } });
    }
    this.#save();
    const acknowledge = notice.pending.filter((id) => this.#received.has(`${from.userId} ${id}`));
    const reply = notice.reply !== true && acknowledge.length < notice.pending.length;
    return { redeliver, relay: this.#relayable(roomId, from, have), acknowledge, reply };
  }

  /**
   * RCPT-6: messages of other devices this device holds that `to` lacks and was meant to get
   * (its send-time group included it), oldest first, bounded as a batch.
   */
  #relayable(roomId: string, to: DeviceRef, have: ReadonlySet<string>): StampedContent[] {
    const key = targetKey(to);
    const out: StampedContent[] = [];
    let bytes = 0;
    const records = [...this.#received.values()]
      .filter((r) => r.roomId === roomId && r.pass !== undefined && !have.has(r.id))
      .sort((a, b) => a.sent - b.sent);
    for (const r of records) {
      const pass = r.pass!;
      if (!pass.targets.includes(key)) continue;
      if (pass.origin.userId === to.userId && pass.origin.deviceId === to.deviceId) continue;
      if (out.length >= BATCH_MAX) break;
      const size = JSON.stringify(pass.content).length;
      if (out.length > 0 && bytes + size > BATCH_BYTES_MAX) continue;
      bytes += size;
      out.push({ content: pass.content, stamp: { id: r.id, sent: r.sent, sig: pass.sig }, by: pass.origin });
    }
    return out;
  }

  #deliveredTo(r: SentRecord, device: DeviceRef): boolean {
    const key = targetKey(device);
    if (!r.targets.includes(key) || r.delivered.includes(key)) return false;
    r.delivered.push(key);
    if (r.delivered.length === r.targets.length) delete r.content;
    return true;
  }

  #event(r: SentRecord): DeliveryEvent {
    return {
      roomId: r.roomId,
      messageId: r.id,
      targets: r.targets.map(deviceOf),
      delivered: r.delivered.map(deviceOf),
      readBy: this.#o.readReceipts() ? [...r.readBy] : [],
    };
  }

  /** RCPT-4: after `keepMs` an own message's plaintext goes, acknowledged or not. */
  #expire(): void {
    const limit = this.#o.now() - this.#keepMs;
    let changed = false;
    for (const r of this.#sent.values()) {
      if (r.sent < limit && r.content !== undefined) {
        delete r.content;
        changed = true;
      }
    }
    for (const r of this.#received.values()) {
      if (r.sent < limit && r.pass !== undefined) {
        delete r.pass;
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  #trim(): void {
    while (this.#sent.size > SENT_MAX) {
      const oldest = this.#sent.keys().next().value;
      if (oldest === undefined) break;
      this.#sent.delete(oldest);
    }
  }

  /** Writes both lists after the write in progress; a burst of changes is one write. */
  #save(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    this.#saving = this.#saving
      .catch(() => undefined)
      .then(async () => {
        this.#dirty = false;
        await Promise.all([
          this.#o.store.put(SENT_KEY, utf8ToBytes(JSON.stringify([...this.#sent.values()]))),
          this.#o.store.put(RECEIVED_KEY, utf8ToBytes(JSON.stringify([...this.#received.values()]))),
        ]);
      });
    this.#saving.catch(() => {
      // A failed write is made good by the next change; the state in memory stays right.
    });
  }

  /** Resolves once what changed so far is stored. */
  flushed(): Promise<void> {
    return this.#saving.catch(() => undefined);
  }
}

function readList<T>(bytes: Uint8Array | undefined): T[] {
  if (bytes === undefined) return [];
  try {
    const value = parseJson(bytesToUtf8(bytes));
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}
