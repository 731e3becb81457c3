/** Encrypts and decrypts a room's application messages with its MLS group, holding back messages whose epoch's Commit has not arrived yet. */
import {
  encryptApplicationMessage,
  type GroupState,
  groupEpoch,
  groupMembers,
  inspectMessage,
  isParleyCryptoError,
  processMessage,
  verifyMessageOrigin,
} from "@parley/crypto";
import { canonicalRoomId, type DeviceRef, type ServerFrameOf, sameDevice } from "@parley/protocol";
import { base64ToBytes } from "./base64.js";
import {
  decodeEnvelope,
  type Envelope,
  originText,
  type StampedContent,
  type SyncNotice,
} from "./content.js";
import { asClientError, ParleyClientError } from "./errors.js";
import type { FollowedPostEvent, MessageEvent } from "./events.js";
import type { GroupStates } from "./groups.js";
import type { KeyedMutex } from "./lock.js";
import type { KeyPins } from "./pins.js";
import type { Scheduler } from "./scheduler.js";

/** What a holder needs to pass a message on (RCPT-6). */
export interface HeldMessage {
  /** The group's devices in the epoch the message was sent in: who it was meant for. */
  readonly members: readonly DeviceRef[];
  /** The author's signature over originText() (base64), when it made one. */
  readonly sig: string | undefined;
}

/** Messages kept while their epoch is ahead of ours (its Commit is still on the way), per room. */
const MAX_EARLY_MESSAGES = 256;

export interface MessageCryptoOptions {
  readonly groups: GroupStates;
  /** The per-room lock every read-modify-write of a group state takes. */
  readonly groupLock: KeyedMutex;
  readonly pins: Pick<KeyPins, "state" | "isRevoked">;
  readonly scheduler: Pick<Scheduler, "later">;
  /** Where decrypted messages and undecryptable ones go. */
  readonly out: {
    /**
     * Awaited, so that messages are handed on one at a time, in order. `held`: the group's
     * devices at the message's epoch and the author's origin signature, for RCPT-6.
     */
    message(event: MessageEvent, held?: HeldMessage): void | Promise<void>;
    /** RCPT-4: a device's sync notice (never shown). */
    sync(roomId: string, from: DeviceRef, sync: SyncNotice): void;
    error(error: ParleyClientError, roomId: string, messageId: string): void;
    /**
     * SUB-2: a person this user follows posted in a public room this device has no group for:
     * what it can tell without the content (which only the room's members can read).
     */
    followed(event: FollowedPostEvent): void;
  };
  /**
   * Brings the room's group to the delivery service's epoch (external Commit if need be); called
   * outside the receive path, which must not wait for itself.
   */
  resync(roomId: string): Promise<void>;
  /** Hands a held-back message to the receive path again, behind what it holds now. */
  redeliver(frame: ServerFrameOf<"message">): void;
  /** How long a message is held back before the group is resynced. */
  readonly syncTimeoutMs: number;
}

/**
 * Application messages of rooms (RFC 9420 §6.3, PrivateMessage). A message can arrive before
 * the Commit that made its epoch (the sender merged its own Commit at once, the Commit travels
 * through this device's handshake queue): such a message is kept and decrypted once the group
 * reaches its epoch, or after a resync when the Commit does not come within `syncTimeoutMs`.
 */
export class MessageCrypto {
  readonly #o: MessageCryptoOptions;
  readonly #early = new Map<string, ServerFrameOf<"message">[]>();

  constructor(options: MessageCryptoOptions) {
    this.#o = options;
  }

  /** Encrypts application data with the room's group and stores the advanced state. */
  async encrypt(roomId: string, plaintext: Uint8Array): Promise<Uint8Array> {
    return (await this.encryptFor(roomId, plaintext)).message;
  }

  /**
   * Encrypts as encrypt() does, and says which devices were in the group for it (RCPT-3: the
   * devices a message counts as delivered to are those of the sender's own MLS state).
   */
  encryptFor(roomId: string, plaintext: Uint8Array): Promise<{ message: Uint8Array; members: DeviceRef[] }> {
    return this.#o.groupLock.run(roomId, async () => {
      const state = await this.#o.groups.get(roomId);
      if (state === undefined) throw new ParleyClientError("no_group");
      const out = await encryptApplicationMessage(state, plaintext);
      await this.#o.groups.put(roomId, out.state);
      return { message: out.message, members: groupMembers(state).map((m) => m.device) };
    });
  }

  /** Decrypts one received message and reports it as a `message` event, or as an error. */
  async decrypt(frame: ServerFrameOf<"message">): Promise<void> {
    if (frame.room === undefined) return; // user-to-user payloads are not MLS conversations
    const roomId = canonicalRoomId(frame.room);
    const { groups, out } = this.#o;
    await this.#o.groupLock.run(roomId, async () => {
      const state = await groups.get(roomId);
      if (state === undefined) {
        // Followers of a public room's members get its traffic too (SUB-2); they are not in it,
        // so they cannot read it: they learn who posted where, and may join to read what follows.
        if (frame.via === "subscription") {
          out.followed({
            roomId,
            from: { userId: frame.from.id, username: frame.from.username },
            ts: frame.ts,
          });
          return;
        }
        out.error(new ParleyClientError("no_group"), roomId, frame.id);
        this.#o.scheduler.later(0, () => this.#o.resync(roomId));
        return;
      }
      let bytes: Uint8Array;
      try {
        bytes = base64ToBytes(frame.payload);
      } catch {
        out.error(new ParleyClientError("malformed_message"), roomId, frame.id);
        return;
      }
      let result: Awaited<ReturnType<typeof processMessage>>;
      try {
        result = await processMessage(state, bytes);
      } catch (e) {
        if (isParleyCryptoError(e, "epoch_unavailable") && isAhead(bytes, state)) {
          this.#keepEarly(roomId, frame);
          return;
        }
        out.error(asClientError(e), roomId, frame.id);
        return;
      }
      if (result.kind !== "application") {
        out.error(new ParleyClientError("invalid_message"), roomId, frame.id);
        return;
      }
      await groups.put(roomId, result.state);
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(result.plaintext);
      } catch (e) {
        out.error(asClientError(e), roomId, frame.id);
        return;
      }
      const sender = result.sender.device;
      if (sender.userId !== frame.from.id) {
        out.error(new ParleyClientError("sender_mismatch"), roomId, frame.id);
        return;
      }
      // IDENT-5: a device its person removed is never trusted again, even before its leaf goes.
      if (await this.#o.pins.isRevoked(sender.userId, sender.deviceId)) {
        out.error(new ParleyClientError("device_removed"), roomId, frame.id);
        return;
      }
      if (envelope.kind === "sync") {
        out.sync(roomId, sender, envelope.sync);
        return;
      }
      const members = groupMembers(result.state);
      const devices = members.map((m) => m.device);
      // RCPT-5: a batch holds earlier messages sent again: the sender's own, or (RCPT-6) another
      // member's, passed on with the author's signature, checked against its leaf here.
      const items: readonly (StampedContent | Omit<StampedContent, "stamp">)[] =
        envelope.kind === "batch" ? envelope.items : [envelope];
      for (const item of items) {
        const { content } = item;
        const stamp = "stamp" in item ? item.stamp : undefined;
        const by = "by" in item ? item.by : undefined;
        let author = { userId: sender.userId, username: frame.from.username, deviceId: sender.deviceId };
        if (by !== undefined && !sameDevice(by, sender)) {
          const leaf = members.find((m) => sameDevice(m.device, by));
          const sig = stamp?.sig === undefined ? undefined : base64ToBytesOrNone(stamp.sig);
          const genuine =
            leaf !== undefined &&
            stamp !== undefined &&
            sig !== undefined &&
            (await verifyMessageOrigin(leaf.signaturePublicKey, originText(roomId, by, stamp, content), sig));
          if (!genuine) {
            out.error(new ParleyClientError("invalid_message"), roomId, frame.id);
            continue;
          }
          author = { userId: by.userId, username: by.username, deviceId: by.deviceId };
        }
        await out.message(
          {
            roomId,
            id: frame.id,
            ts: frame.ts,
            from: author,
            content,
            text: "text" in content ? content.text : undefined,
            trust: await this.#o.pins.state(author.userId),
            epoch: Number(result.epoch),
            ...(stamp !== undefined ? { messageId: stamp.id, sentAt: stamp.sent } : {}),
            ...(envelope.kind === "batch" ? { redelivered: true as const } : {}),
            ...(frame.queued === true ? { queued: true as const } : {}),
          },
          envelope.kind === "content" ? { members: devices, sig: stamp?.sig } : undefined,
        );
      }
    });
  }

  /** The room's group moved to a new epoch (or was joined): held-back messages are tried again. */
  epochChanged(roomId: string): void {
    const list = this.#early.get(roomId);
    if (list === undefined || list.length === 0) return;
    this.#early.delete(roomId);
    for (const frame of list) this.#o.redeliver(frame);
  }

  /** This device left the room: what it held back for it goes. */
  forget(roomId: string): void {
    this.#early.delete(roomId);
  }

  /** A message from an epoch whose Commit has not arrived yet: kept until it does. */
  #keepEarly(roomId: string, frame: ServerFrameOf<"message">): void {
    const list = this.#early.get(roomId) ?? [];
    if (list.length >= MAX_EARLY_MESSAGES) list.shift();
    list.push(frame);
    this.#early.set(roomId, list);
    if (list.length === 1) {
      this.#o.scheduler.later(this.#o.syncTimeoutMs, async () => {
        if ((this.#early.get(roomId)?.length ?? 0) === 0) return;
        await this.#o.resync(roomId);
        this.epochChanged(roomId);
      });
    }
  }
}

function base64ToBytesOrNone(text: string): Uint8Array | undefined {
  try {
    return base64ToBytes(text);
  } catch {
    return undefined;
  }
}

function isAhead(bytes: Uint8Array, state: GroupState): boolean {
  try {
    const info = inspectMessage(bytes);
    return "epoch" in info && info.epoch > groupEpoch(state);
  } catch {
    return false;
  }
}
