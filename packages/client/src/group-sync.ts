/** One device's MLS receive path: handshakes and messages go through the acked Inbox to the commit engine and message crypto, which it wires together. */
import type { createMlsConfig, DeviceIdentity } from "@parley/crypto";
import type { ClientFrame, DeviceRef, ServerFrameOf } from "@parley/protocol";
import { CommitEngine, type DeliveryService } from "./commit-engine.js";
import type { SyncNotice } from "./content.js";
import type { DeviceKeys } from "./device.js";
import { asClientError, type ParleyClientError } from "./errors.js";
import type { FollowedPostEvent, MembershipEvent, MessageEvent } from "./events.js";
import type { GroupStates } from "./groups.js";
import { type AckedStream, Inbox } from "./inbox.js";
import { KeyedMutex } from "./lock.js";
import { type HeldMessage, MessageCrypto } from "./message-crypto.js";
import type { KeyPins } from "./pins.js";
import { RecentIds } from "./recent-ids.js";
import type { Scheduler } from "./scheduler.js";

export interface GroupSyncOptions {
  readonly groups: GroupStates;
  readonly device: Pick<DeviceKeys, "bundleFor" | "consumed" | "handshakeMark" | "queueMark" | "suite">;
  readonly pins: Pick<KeyPins, "observe" | "state" | "isRevoked">;
  /** The device's connection: requests, and acks that have no answer. */
  readonly server: DeliveryService & { fire(frame: ClientFrame): boolean };
  readonly mls: ReturnType<typeof createMlsConfig>;
  identity(): DeviceIdentity;
  readonly scheduler: Pick<Scheduler, "later" | "closed">;
  readonly out: {
    message(event: MessageEvent, held?: HeldMessage): void | Promise<void>;
    sync(roomId: string, from: DeviceRef, notice: SyncNotice): void;
    membership(event: MembershipEvent): void;
    error(error: ParleyClientError, roomId?: string, messageId?: string): void;
    /** SUB-2: a followed person's post in a public room this device is not in. */
    followed(event: FollowedPostEvent): void;
  };
  random(): number;
  /** How long to wait for the handshake queue to bring a group to the server's epoch. */
  readonly syncTimeoutMs: number;
  /** How many times a Commit is rebuilt after losing its epoch. */
  readonly commitRetries: number;
}

/**
 * The two server streams that change group state arrive here in order: Commits and Welcomes
 * (MLS-8) and queued messages (RELAY-6), each acknowledged after what it changed is stored, and
 * live messages between them. Handshakes go to the CommitEngine, messages (each server id once)
 * to MessageCrypto; the two share the per-room group lock, and a message held back for its
 * epoch is tried again when the engine moves the group there.
 */
export class GroupSync {
  readonly inbox: Inbox;
  readonly engine: CommitEngine;
  readonly crypto: MessageCrypto;
  readonly #handshakes: AckedStream;
  readonly #queue: AckedStream;
  readonly #seen = new RecentIds();

  constructor(o: GroupSyncOptions) {
    const report = (e: unknown) => o.out.error(asClientError(e));
    this.inbox = new Inbox(report);
    this.#handshakes = this.inbox.stream({
      store: o.device.handshakeMark,
      ack: (upTo) => o.server.fire({ type: "mls.ack", upTo }),
    });
    this.#queue = this.inbox.stream({
      store: o.device.queueMark,
      ack: (upTo) => o.server.fire({ type: "queue.ack", upTo }),
    });
    const groupLock = new KeyedMutex();
    this.crypto = new MessageCrypto({
      groups: o.groups,
      groupLock,
      pins: o.pins,
      scheduler: o.scheduler,
      out: o.out,
      resync: (roomId) => this.engine.resync(roomId),
      redeliver: (frame) => this.inbox.run(() => this.crypto.decrypt(frame)),
      syncTimeoutMs: o.syncTimeoutMs,
    });
    this.engine = new CommitEngine({
      groups: o.groups,
      groupLock,
      device: o.device,
      pins: o.pins,
      server: o.server,
      mls: o.mls,
      identity: o.identity,
      inbox: this.inbox,
      scheduler: o.scheduler,
      out: {
        membership: o.out.membership,
        error: o.out.error,
        epochChanged: (roomId) => this.crypto.epochChanged(roomId),
      },
      random: o.random,
      syncTimeoutMs: o.syncTimeoutMs,
      commitRetries: o.commitRetries,
    });
  }

  /** A pushed handshake or message frame; call in arrival order. */
  receive(frame: ServerFrameOf<"mls.handshake"> | ServerFrameOf<"message">): void {
    if (frame.type === "mls.handshake") {
      this.#handshakes.receive(frame.seq, () => this.engine.handshake(frame));
    } else if (frame.queued === true && frame.seq !== undefined) {
      this.#queue.receive(frame.seq, () => this.#decrypt(frame));
    } else {
      this.inbox.run(() => this.#decrypt(frame));
    }
  }

  /** Resolves once every frame received so far has been handled. */
  drain(): Promise<void> {
    return this.inbox.drain();
  }

  /** The device got a new identity: both queues number its entries afresh. */
  newDevice(): void {
    this.#handshakes.forget();
    this.#queue.forget();
  }

  /** This device is out of the room: its group state and held-back messages go. */
  forget(roomId: string): Promise<void> {
    this.crypto.forget(roomId);
    return this.engine.forget(roomId);
  }

  /** RELAY-6: a copy of a message already seen (live, then queued) is not decrypted again. */
  async #decrypt(frame: ServerFrameOf<"message">): Promise<void> {
    if (this.#seen.add(frame.id)) await this.crypto.decrypt(frame);
  }
}
