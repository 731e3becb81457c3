/** An in-memory stand-in for the server's MLS delivery service and offline queue, for unit tests of the SDK's receive path. */
import { type ClientFrame, type DeviceRef, deviceKey, type ServerFrameOf } from "@parley/protocol";
import type { RequestFrame } from "../connection.js";
import { ParleyClientError } from "../errors.js";

type Pushed = ServerFrameOf<"mls.handshake"> | ServerFrameOf<"message">;

interface Group {
  epoch: number;
  groupInfo: string;
  members: Set<string>;
}

/**
 * The rules of docs/PROTOCOL.md that the receive path depends on, without sockets or audits:
 * the first Commit for an epoch wins and the others get `stale_epoch` (MLS-5); each device has
 * a handshake queue, resent whole on every connection until acknowledged (MLS-6, MLS-8), and
 * an offline message queue sent after it (RELAY-6); a room message goes live to the connected
 * devices of its group and is queued for the others.
 */
export class FakeDeliveryService {
  readonly #groups = new Map<string, Group>();
  readonly #devices = new Map<string, FakeDevice>();
  #nextMessage = 1;

  /** A device of `userId`; `receive` gets its pushed frames, in order. */
  device(ref: DeviceRef, receive: (frame: Pushed) => void): FakeDevice {
    const d = new FakeDevice(this, { userId: ref.userId, deviceId: ref.deviceId }, receive);
    this.#devices.set(deviceKey(d.ref), d);
    return d;
  }

  epoch(roomId: string): number | undefined {
    return this.#groups.get(roomId)?.epoch;
  }

  /** Carries out one request of `from`, as the server would; throws the server's refusal. */
  handle(from: FakeDevice, frame: RequestFrame): Record<string, unknown> {
    switch (frame.type) {
      case "mls.commit": {
        const group = this.#groups.get(frame.roomId);
        const current = group?.epoch ?? 0;
        if (frame.epoch !== current) {
          throw new ParleyClientError("stale_epoch", { epoch: current });
        }
        const next: Group = group ?? { epoch: 0, groupInfo: "", members: new Set([deviceKey(from.ref)]) };
        if (frame.external === true) next.members.add(deviceKey(from.ref));
        for (const d of frame.removeDevices ?? []) next.members.delete(deviceKey(d));
        const before = new Set(next.members);
        for (const d of frame.addDevices ?? []) next.members.add(deviceKey(d));
        next.epoch = frame.epoch + 1;
        next.groupInfo = frame.groupInfo;
        this.#groups.set(frame.roomId, next);
        const entry = {
          roomId: frame.roomId,
          epoch: frame.epoch,
          from: from.ref,
        };
        for (const member of before) {
          if (member !== deviceKey(from.ref))
            this.#devices.get(member)?.enqueue({ ...entry, kind: "commit", payload: frame.commit });
        }
        if (frame.welcome !== undefined) {
          for (const d of frame.addDevices ?? [])
            this.#devices.get(deviceKey(d))?.enqueue({ ...entry, kind: "welcome", payload: frame.welcome });
        }
        return { type: "mls.accepted", roomId: frame.roomId, epoch: next.epoch };
      }
      case "mls.groupinfo.get": {
        const group = this.#groups.get(frame.roomId);
        if (group === undefined) throw new ParleyClientError("group_not_found");
        return {
          type: "mls.groupinfo",
          roomId: frame.roomId,
          epoch: group.epoch,
          groupInfo: group.groupInfo,
        };
      }
      case "room.list": {
        // The rooms whose group holds a device of this user (the fake has no other roster).
        const rooms = [...this.#groups]
          .filter(([, g]) =>
            [...this.#devices.values()].some(
              (d) => d.ref.userId === from.ref.userId && g.members.has(deviceKey(d.ref)),
            ),
          )
          .map(([id]) => ({ id }));
        return { type: "rooms", rooms };
      }
      case "keypackages.claim": {
        const devices = [...this.#devices.values()]
          .filter((d) => d.ref.userId === frame.userId && d.keyPackages.length > 0)
          .map((d) => ({
            deviceId: d.ref.deviceId,
            signatureKey: d.signatureKey,
            keyPackage: d.keyPackages.shift() as string,
          }));
        return { type: "keypackages", userId: frame.userId, devices };
      }
      case "message.send": {
        const roomId = "room" in frame.to ? frame.to.room : undefined;
        const group = roomId === undefined ? undefined : this.#groups.get(roomId);
        const message = {
          type: "message" as const,
          id: `m${this.#nextMessage++}`,
          ts: 1,
          from: { id: from.ref.userId, username: from.ref.userId },
          ...(roomId !== undefined ? { room: roomId } : {}),
          payload: frame.payload,
        };
        for (const member of group?.members ?? []) {
          if (member !== deviceKey(from.ref)) this.#devices.get(member)?.relay(message);
        }
        return { type: "ack", id: message.id, ts: message.ts };
      }
      default:
        throw new ParleyClientError("validation_failed", {
          message: `the fake does not serve ${frame.type}`,
        });
    }
  }
}

/** One device's connection to the fake: what the SDK's `Connection` offers the receive path. */
export class FakeDevice {
  readonly ref: { userId: string; deviceId: string };
  online = true;
  /** Published KeyPackages (base64), handed out by claims. */
  keyPackages: string[] = [];
  signatureKey = "";
  /** Every request and fired frame, in order. */
  readonly sent: { type: string }[] = [];
  /** While true, pushed handshakes wait (a message can overtake its Commit). */
  holdHandshakes = false;
  /** The answer to the next request of this type is lost with the connection. */
  loseAnswerTo: string | undefined;
  /** The next request of this type is lost with the connection before the server gets it. */
  loseRequestTo: string | undefined;
  /** Acks are sent but lost on the way (the client crashes before they arrive). */
  loseAcks = false;
  /** Where pushed frames go (a restarted client takes over its device's connection). */
  receive: (frame: Pushed) => void;
  readonly #server: FakeDeliveryService;
  readonly #handshakes: ServerFrameOf<"mls.handshake">[] = [];
  readonly #queue: ServerFrameOf<"message">[] = [];
  #held: ServerFrameOf<"mls.handshake">[] = [];
  #nextSeq = 1;
  #nextQueueSeq = 1;
  #ready: (() => void)[] = [];

  constructor(
    server: FakeDeliveryService,
    ref: { userId: string; deviceId: string },
    receive: (f: Pushed) => void,
  ) {
    this.#server = server;
    this.ref = ref;
    this.receive = receive;
  }

  /** Handshake entries not acknowledged yet (MLS-6). */
  get pendingHandshakes(): number {
    return this.#handshakes.length;
  }

  /** Offline-queue entries not acknowledged yet (RELAY-6). */
  get pendingQueue(): number {
    return this.#queue.length;
  }

  request = async (frame: RequestFrame, _expect: unknown): Promise<never> => {
    this.sent.push(frame);
    if (!this.online) await this.whenReady();
    if (this.loseRequestTo === frame.type) {
      this.loseRequestTo = undefined;
      this.disconnect();
      throw new ParleyClientError("connection_lost");
    }
    const answer = this.#server.handle(this, frame);
    if (this.loseAnswerTo === frame.type) {
      this.loseAnswerTo = undefined;
      this.disconnect();
      throw new ParleyClientError("connection_lost");
    }
    await Promise.resolve(); // answers come later than the frames sent before them
    return answer as never;
  };

  fire(frame: ClientFrame): boolean {
    if (!this.online) return false;
    this.sent.push(frame);
    if (this.loseAcks) return true;
    if (frame.type === "mls.ack") this.#drop(this.#handshakes, frame.upTo);
    if (frame.type === "queue.ack") this.#drop(this.#queue, frame.upTo);
    return true;
  }

  whenReady(): Promise<void> {
    if (this.online) return Promise.resolve();
    return new Promise((resolve) => this.#ready.push(resolve));
  }

  /** The server lost this device's handshake backlog (a Commit it will never get). */
  loseBacklog(): void {
    this.#handshakes.length = 0;
  }

  disconnect(): void {
    this.online = false;
    this.#held = [];
  }

  /** A new connection: the handshake backlog, then the offline queue, then readiness. */
  reconnect(): void {
    this.online = true;
    for (const f of this.#handshakes) this.#pushHandshake(f);
    for (const f of this.#queue) this.receive(f);
    const waiters = this.#ready;
    this.#ready = [];
    for (const w of waiters) w();
  }

  /** Lets held handshakes through, in order. */
  release(): void {
    this.holdHandshakes = false;
    const held = this.#held;
    this.#held = [];
    for (const f of held) this.receive(f);
  }

  enqueue(entry: Omit<ServerFrameOf<"mls.handshake">, "type" | "seq">): void {
    const frame = { type: "mls.handshake" as const, seq: this.#nextSeq++, ...entry };
    this.#handshakes.push(frame);
    if (this.online) this.#pushHandshake(frame);
  }

  relay(message: ServerFrameOf<"message">): void {
    if (this.online) {
      this.receive(message);
      return;
    }
    this.#queue.push({ ...message, queued: true, seq: this.#nextQueueSeq++ });
  }

  #pushHandshake(frame: ServerFrameOf<"mls.handshake">): void {
    if (this.holdHandshakes) this.#held.push(frame);
    else this.receive(frame);
  }

  #drop(list: { seq?: number }[], upTo: number): void {
    while (list.length > 0 && (list[0]?.seq ?? 0) <= upTo) list.shift();
  }
}
