/** Keeps this device's MLS groups at the delivery service's epoch: applies queued Commits and Welcomes, makes Commits (rebased after stale_epoch, settled when in doubt) and rejoins by external Commit. */
import {
  addMembers,
  createGroup,
  type createMlsConfig,
  type DeviceIdentity,
  exportGroupInfo,
  type GroupState,
  groupEpoch,
  groupMembers,
  inspectKeyPackage,
  isParleyCryptoError,
  joinByExternalCommit,
  joinFromWelcome,
  memberDiff,
  mergePendingCommit,
  ownLeafDevice,
  ownLeafIndex,
  type PendingCommit,
  processMessage,
  removeMembers,
  selfUpdate,
} from "@parley/crypto";
import { canonicalRoomId, type DeviceRef, deviceKey, type ServerFrameOf, sameDevice } from "@parley/protocol";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import type { Connection } from "./connection.js";
import type { DeviceKeys } from "./device.js";
import { asClientError, isConnectionGone, ParleyClientError } from "./errors.js";
import type { MembershipEvent } from "./events.js";
import { type GroupStates, groupIdFor } from "./groups.js";
import type { Inbox } from "./inbox.js";
import { KeyedMutex } from "./lock.js";
import type { KeyPins } from "./pins.js";
import type { Scheduler } from "./scheduler.js";

/** The delivery service as the engine uses it: requests over the device's connection (MLS-5, MLS-7). */
export interface DeliveryService {
  readonly request: Connection["request"];
  whenReady(timeoutMs: number): Promise<void>;
}

export interface CommitEngineOptions {
  readonly groups: GroupStates;
  /** The per-room lock every read-modify-write of a group state takes (shared with MessageCrypto). */
  readonly groupLock: KeyedMutex;
  readonly device: Pick<DeviceKeys, "bundleFor" | "consumed" | "suite">;
  readonly pins: Pick<KeyPins, "observe">;
  readonly server: DeliveryService;
  readonly mls: ReturnType<typeof createMlsConfig>;
  identity(): DeviceIdentity;
  /** The receive path: drained before a change, so that it is made on the latest state. */
  readonly inbox: Pick<Inbox, "drain">;
  readonly scheduler: Pick<Scheduler, "later" | "closed">;
  readonly out: {
    membership(event: MembershipEvent): void;
    error(error: ParleyClientError, roomId?: string): void;
    /** The room's group has a new epoch, or was joined. */
    epochChanged(roomId: string): void;
  };
  random(): number;
  /** How long to wait for the handshake queue to bring a group to the server's epoch. */
  readonly syncTimeoutMs: number;
  /** How many times a Commit is rebuilt after losing its epoch. */
  readonly commitRetries: number;
}

interface Prepared {
  readonly pending: PendingCommit;
  readonly groupInfo: string;
  readonly addDevices: DeviceRef[];
  readonly removeDevices: DeviceRef[];
}

interface Built {
  readonly pending: PendingCommit;
  readonly addDevices?: DeviceRef[];
  readonly removeDevices?: DeviceRef[];
}

export interface ClaimedDevice {
  readonly ref: DeviceRef;
  readonly keyPackage: Uint8Array;
}

/** How long a join waits for Commits or a Welcome already on the way before it joins by itself. */
const SHORT_SYNC_MS = 1500;

/**
 * Keeps this device's MLS groups at the delivery service's epoch (RFC 9420 §14, RFC 9750):
 * applies queued Commits and Welcomes in the server's order, and makes Commits: one at a time
 * per room, rebuilt on the winner after `stale_epoch`, settled from the GroupInfo or the queue
 * when the answer was lost with the connection. A device that fell out of step rejoins by
 * external Commit.
 *
 * Two locks per room: the group lock guards each read-modify-write of the stored state and is
 * held briefly; the commit lock is held across a Commit's round trip, so the handshake queue
 * (which needs only the group lock) keeps flowing while a Commit waits for its answer.
 */
export class CommitEngine {
  readonly #groupLock: KeyedMutex;
  readonly #commitLock = new KeyedMutex();
  /** Commits sent but not answered when the connection dropped, per room. */
  readonly #inDoubt = new Map<string, Prepared>();
  /** In-doubt Commits the handshake queue showed to have won. */
  readonly #won = new WeakSet<Prepared>();
  readonly #resyncing = new Map<string, Promise<void>>();

  readonly #d: CommitEngineOptions;

  constructor(options: CommitEngineOptions) {
    this.#d = options;
    this.#groupLock = options.groupLock;
  }

  /**
   * Applies one queued handshake message (MLS-8) under the room's lock. One that cannot be
   * applied is reported and the group resyncs: the queue must go on (see AckedStream).
   */
  async handshake(frame: ServerFrameOf<"mls.handshake">): Promise<void> {
    const roomId = canonicalRoomId(frame.roomId);
    try {
      await this.#groupLock.run(roomId, () => this.#applyHandshake(roomId, frame));
    } catch (e) {
      this.#d.out.error(asClientError(e), roomId);
      this.resyncSoon(roomId);
    }
  }

  /** This device is out of the room: its group state goes. */
  forget(roomId: string): Promise<void> {
    return this.#groupLock.run(roomId, () => this.#d.groups.delete(roomId));
  }

  /** A Commit with a fresh path for this device, rebuilt on the winner if another takes the epoch. */
  selfUpdate(roomId: string): Promise<void> {
    return this.#commit(roomId, async (state) => ({ pending: await selfUpdate(state) }));
  }

  /**
   * Someone left or was removed: their devices must leave the group too. One member should
   * commit that; members wait in the order of their leaf index (the owner, who removed, goes
   * first), and whoever finds the devices still there commits. Losing the race costs one
   * `stale_epoch`, after which nothing is left to do.
   */
  async scheduleRemoval(roomId: string, userId: string, byOwner: boolean): Promise<void> {
    const state = await this.#d.groups.get(roomId);
    if (state === undefined) return;
    const members = groupMembers(state);
    if (!members.some((m) => m.device.userId === userId)) return;
    const others = members.filter((m) => m.device.userId !== userId).map((m) => m.leafIndex);
    const rank = others.sort((a, b) => a - b).indexOf(ownLeafIndex(state));
    const delay = (byOwner ? 2000 : 0) + (rank <= 0 ? 0 : 1000 * rank + Math.floor(this.#d.random() * 500));
    this.#d.scheduler.later(delay, () => this.removeUser(roomId, userId));
  }

  /**
   * IDENT-5: a person removed one of their devices; its leaf must leave the group. The
   * removing device commits at once (`first`); everyone else waits in the order of their leaf
   * index, after it, and commits only if the leaf is still there.
   */
  async scheduleDeviceRemoval(roomId: string, device: DeviceRef): Promise<void> {
    const state = await this.#d.groups.get(roomId);
    if (state === undefined) return;
    const members = groupMembers(state);
    if (!members.some((m) => sameDevice(m.device, device))) return;
    const others = members.filter((m) => !sameDevice(m.device, device)).map((m) => m.leafIndex);
    const rank = others.sort((a, b) => a - b).indexOf(ownLeafIndex(state));
    const delay = 2000 + 1000 * Math.max(rank, 0) + Math.floor(this.#d.random() * 500);
    this.#d.scheduler.later(delay, () => this.removeDevices(roomId, [device]));
  }

  /**
   * IDENT-4: after `userId` reset their identity, their old devices' leaves (certified by a key
   * they no longer have) must leave the group, or a lost device would go on reading it. The
   * person's new device commits that at once (`first`); everyone else waits as for a removed
   * device and commits only if such leaves are still there. `currentKey` is read when the
   * Commit is made: the identity key the leaves must name to stay.
   */
  async scheduleSupersededRemoval(
    roomId: string,
    userId: string,
    currentKey: () => Promise<Uint8Array | undefined>,
    first = false,
  ): Promise<void> {
    const state = await this.#d.groups.get(roomId);
    if (state === undefined) return;
    const members = groupMembers(state);
    const own = members.filter((m) => m.device.userId === userId);
    if (own.length === 0) return;
    const drop = async () => {
      const key = await currentKey();
      if (key === undefined) return;
      const current = await this.#d.groups.get(roomId);
      if (current === undefined) return;
      const stale = groupMembers(current).filter(
        (m) => m.device.userId === userId && bytesToBase64(m.identityKey) !== bytesToBase64(key),
      );
      if (stale.length > 0)
        await this.removeDevices(
          roomId,
          stale.map((m) => m.device),
        );
    };
    if (first) return drop();
    const others = members.filter((m) => m.device.userId !== userId).map((m) => m.leafIndex);
    const rank = others.sort((a, b) => a - b).indexOf(ownLeafIndex(state));
    const delay = 2000 + 1000 * Math.max(rank, 0) + Math.floor(this.#d.random() * 500);
    this.#d.scheduler.later(delay, drop);
  }

  /** Removes the leaves of these devices that are still in the group. */
  async removeDevices(roomId: string, devices: readonly DeviceRef[]): Promise<void> {
    if ((await this.#d.groups.get(roomId)) === undefined) return;
    const wanted = new Set(devices.map((d) => deviceKey(d)));
    await this.#commit(roomId, async (state) => {
      const leaves = groupMembers(state).filter((m) => wanted.has(deviceKey(m.device)));
      if (leaves.length === 0) return undefined;
      return {
        pending: await removeMembers(
          state,
          leaves.map((m) => m.leafIndex),
        ),
        removeDevices: leaves.map((m) => m.device),
      };
    });
  }

  async #applyHandshake(roomId: string, frame: ServerFrameOf<"mls.handshake">): Promise<void> {
    const bytes = base64ToBytes(frame.payload);
    if (frame.kind === "welcome") return this.#applyWelcome(roomId, bytes);
    const state = await this.#d.groups.get(roomId);
    if (state === undefined) return; // not in this group (left, or its Welcome never came)
    let current = state;
    const ours = groupEpoch(state);
    if (BigInt(frame.epoch) < ours) return; // applied before the ack was lost
    if (BigInt(frame.epoch) > ours) {
      // The Commit for our epoch is missing: it was our own, accepted while the connection
      // dropped (the committer gets no copy of its Commit). Merge it, then go on.
      const doubt = this.#inDoubt.get(roomId);
      if (doubt === undefined || doubt.pending.epoch !== ours || BigInt(frame.epoch) !== ours + 1n) {
        throw new ParleyClientError("epoch_unavailable", {
          message: `a Commit for epoch ${frame.epoch} arrived while this device is at ${ours}`,
        });
      }
      this.#inDoubt.delete(roomId);
      this.#won.add(doubt);
      current = mergePendingCommit(doubt.pending, state);
      await this.#d.groups.put(roomId, current);
    }
    let result: Awaited<ReturnType<typeof processMessage>>;
    try {
      result = await processMessage(current, bytes);
    } catch (e) {
      const doubt = this.#inDoubt.get(roomId);
      if (
        isParleyCryptoError(e, "own_commit") &&
        doubt !== undefined &&
        doubt.pending.epoch === groupEpoch(current)
      ) {
        this.#inDoubt.delete(roomId);
        this.#won.add(doubt);
        await this.#d.groups.put(roomId, mergePendingCommit(doubt.pending, current));
        return;
      }
      throw e;
    }
    if (result.kind !== "commit") throw new ParleyClientError("invalid_message");
    // Someone else's Commit won this epoch, so a Commit of ours still in doubt lost.
    if (this.#inDoubt.get(roomId)?.pending.epoch === groupEpoch(current)) this.#inDoubt.delete(roomId);
    if (result.removedSelf) {
      await this.#d.groups.delete(roomId);
      this.#d.out.membership({ source: "self", roomId, event: "removed", epoch: Number(result.epoch) });
      return;
    }
    await this.#d.groups.put(roomId, result.state);
    this.#d.out.membership({
      source: "group",
      roomId,
      epoch: Number(result.epoch),
      added: result.added.map((m) => m.device),
      removed: result.removed.map((m) => m.device),
      by: result.committer?.device,
    });
    this.#d.out.epochChanged(roomId);
  }

  async #applyWelcome(roomId: string, welcome: Uint8Array): Promise<void> {
    const bundle = await this.#d.device.bundleFor(welcome);
    const existing = await this.#d.groups.get(roomId);
    if (bundle === undefined) {
      if (existing !== undefined) return; // already joined, and the package is spent
      throw new ParleyClientError("no_matching_key_package");
    }
    const state = await joinFromWelcome(welcome, [bundle], this.#d.identity(), this.#d.mls);
    await this.#d.device.consumed(bundle);
    if (existing !== undefined && groupEpoch(existing) >= groupEpoch(state)) return;
    await this.#d.groups.put(roomId, state);
    this.#d.out.membership({ source: "self", roomId, event: "joined", epoch: Number(groupEpoch(state)) });
    this.#d.out.epochChanged(roomId);
  }

  // ------------------------------------------------------------------ commits

  /**
   * Makes, sends and merges one Commit (RFC 9420 §14): `build` makes it from the current state
   * (or returns undefined when nothing is left to do). When another Commit won the epoch
   * (`stale_epoch`), the winner arrives through the handshake queue, and the change is rebuilt
   * on top of it. A Commit whose answer was lost with the connection is resolved from the
   * delivery service's GroupInfo or from the queue.
   */
  async #commit(roomId: string, build: (state: GroupState) => Promise<Built | undefined>): Promise<void> {
    await this.#commitLock.run(roomId, () => this.#commitLocked(roomId, build));
  }

  async #commitLocked(
    roomId: string,
    build: (state: GroupState) => Promise<Built | undefined>,
  ): Promise<void> {
    const retries = this.#d.commitRetries;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const prepared = await this.#groupLock.run(roomId, async (): Promise<Prepared | undefined> => {
        const state = await this.#d.groups.get(roomId);
        if (state === undefined) throw new ParleyClientError("no_group");
        const built = await build(state);
        if (built === undefined) return undefined;
        return {
          pending: built.pending,
          groupInfo: bytesToBase64(await exportGroupInfo(built.pending.newState)),
          addDevices: built.addDevices ?? [],
          removeDevices: built.removeDevices ?? [],
        };
      });
      if (prepared === undefined) return;
      const outcome = await this.#send(roomId, prepared);
      if (outcome === "accepted") return;
      if (outcome === "not_in_group" || outcome === "lost") throw new ParleyClientError("not_in_room");
    }
    throw new ParleyClientError("commit_conflict");
  }

  /**
   * Sends a prepared Commit; merges it when accepted. "retry" means: rebuild on the new state.
   * `first` marks a group's first Commit, made on a group created here: losing it means another
   * device made the group first ("lost").
   */
  async #send(
    roomId: string,
    p: Prepared,
    first = false,
  ): Promise<"accepted" | "retry" | "not_in_group" | "lost"> {
    const frame = {
      type: "mls.commit" as const,
      roomId,
      epoch: Number(p.pending.epoch),
      commit: bytesToBase64(p.pending.commit),
      groupInfo: p.groupInfo,
      ...(p.pending.welcome !== undefined ? { welcome: bytesToBase64(p.pending.welcome) } : {}),
      ...(p.addDevices.length > 0 ? { addDevices: p.addDevices.map(idsOnly) } : {}),
      ...(p.removeDevices.length > 0 ? { removeDevices: p.removeDevices.map(idsOnly) } : {}),
    };
    try {
      await this.#d.server.request(frame, "mls.accepted");
    } catch (e) {
      if (!(e instanceof ParleyClientError)) throw e;
      // A first Commit that meets an existing group lost the race to make it; the delivery
      // service says so with stale_epoch, or with commit_invalid when it checks the sender first.
      if (first && (e.code === "stale_epoch" || e.code === "commit_invalid")) return "lost";
      if (e.code === "stale_epoch") return this.#catchUp(roomId, e.epoch ?? Number(p.pending.epoch) + 1);
      if (e.code === "connection_lost" || e.code === "timeout") return this.#settleInDoubt(roomId, p);
      throw e;
    }
    await this.#merge(roomId, p);
    return "accepted";
  }

  async #merge(roomId: string, p: Prepared): Promise<void> {
    await this.#groupLock.run(roomId, async () => {
      const current = await this.#d.groups.get(roomId);
      if (current === undefined || groupEpoch(current) !== p.pending.epoch) {
        throw new ParleyClientError("epoch_unavailable", {
          message: "the group moved on while its Commit was accepted",
        });
      }
      const before = groupMembers(current);
      const merged = mergePendingCommit(p.pending, current);
      await this.#d.groups.put(roomId, merged);
      const after = groupMembers(merged);
      const { added, removed } = memberDiff(before, after);
      this.#d.out.membership({
        source: "group",
        roomId,
        epoch: Number(groupEpoch(merged)),
        added: added.map((m) => m.device),
        removed: removed.map((m) => m.device),
        by: idsOnly(this.#d.identity()),
      });
    });
    this.#d.out.epochChanged(roomId);
  }

  /** Waits until the handshake queue brings the group to the server's epoch; resyncs if it does not. */
  async #catchUp(roomId: string, serverEpoch: number): Promise<"retry" | "not_in_group"> {
    const target = BigInt(serverEpoch);
    await this.#d.groups.waitFor(
      roomId,
      (s) => s === undefined || groupEpoch(s) >= target,
      this.#d.syncTimeoutMs,
    );
    const state = await this.#d.groups.get(roomId);
    if (state === undefined) return "not_in_group";
    if (groupEpoch(state) < target) await this.#resyncLocked(roomId);
    return "retry";
  }

  /**
   * The connection dropped (or the answer timed out) after a Commit was sent: it may have won.
   * The delivery service's GroupInfo tells: it is ours, byte for byte, exactly when our Commit
   * made the current epoch. Later Commits by others settle it in the handshake path.
   */
  async #settleInDoubt(roomId: string, p: Prepared): Promise<"accepted" | "retry" | "not_in_group"> {
    this.#inDoubt.set(roomId, p);
    try {
      await this.#d.server.whenReady(Math.max(this.#d.syncTimeoutMs, 60_000));
      await this.#d.inbox.drain();
      // Settled by the queue meanwhile: merged if it won, else rebuilt.
      if (this.#inDoubt.get(roomId) !== p) return this.#won.has(p) ? "accepted" : "retry";
      const info = await this.groupInfo(roomId);
      const ours = Number(p.pending.epoch);
      if (info !== undefined && info.epoch === ours + 1 && info.groupInfo === p.groupInfo) {
        this.#inDoubt.delete(roomId);
        await this.#merge(roomId, p);
        return "accepted";
      }
      if (info === undefined || info.epoch <= ours) return "retry";
      // Later Commits exist; the queue that brings them also tells whether ours was first.
      const caughtUp = await this.#catchUp(roomId, info.epoch);
      return this.#won.has(p) ? "accepted" : caughtUp;
    } finally {
      if (this.#inDoubt.get(roomId) === p) this.#inDoubt.delete(roomId);
    }
  }

  /** Creates the room's group here and makes its first Commit, adding `claimed` devices. */
  async startGroup(roomId: string, claimed: readonly ClaimedDevice[]): Promise<void> {
    await this.#commitLock.run(roomId, async () => {
      if (!(await this.#createFirst(roomId, claimed))) await this.#ensureGroupLocked(roomId, false);
    });
  }

  /**
   * Creates the group here (epoch 0) and sends its first Commit. Losing it (two users opened
   * the same direct conversation at once) means the other group is the real one: ours is
   * dropped and the caller joins theirs. Call with the commit lock held.
   */
  async #createFirst(roomId: string, claimed: readonly ClaimedDevice[]): Promise<boolean> {
    // MLS-9: a new group is made in the server's suite.
    const local = await createGroup(this.#d.identity(), {
      groupId: groupIdFor(roomId),
      config: this.#d.mls,
      suite: this.#d.device.suite,
    });
    await this.#groupLock.run(roomId, () => this.#d.groups.put(roomId, local));
    const pending =
      claimed.length > 0
        ? await addMembers(
            local,
            claimed.map((c) => c.keyPackage),
          )
        : await selfUpdate(local);
    const p: Prepared = {
      pending,
      groupInfo: bytesToBase64(await exportGroupInfo(pending.newState)),
      addDevices: claimed.map((c) => c.ref),
      removeDevices: [],
    };
    if ((await this.#send(roomId, p, true)) === "accepted") return true;
    await this.#groupLock.run(roomId, async () => {
      if ((await this.#d.groups.get(roomId)) === local) await this.#d.groups.delete(roomId);
    });
    return false;
  }

  /**
   * The group of a direct conversation with `userId` (ROOM-8): joined when the other side made
   * it already, else made here with their devices in it.
   */
  async joinDirect(roomId: string, userId: string): Promise<void> {
    await this.#d.inbox.drain();
    if ((await this.#d.groups.get(roomId)) !== undefined) return;
    if ((await this.groupInfo(roomId)) !== undefined) return this.ensureGroup(roomId);
    await this.startGroup(roomId, [...(await this.claim(userId)), ...(await this.claimOwnOthers())]);
  }

  /**
   * One KeyPackage of each of this person's other devices: a group this device starts holds
   * them from its first Commit, so a room made on the laptop is on the phone at once (issue 14).
   */
  async claimOwnOthers(): Promise<ClaimedDevice[]> {
    const me = this.#d.identity();
    return (await this.claim(me.userId)).filter((c) => c.ref.deviceId !== me.deviceId);
  }

  /** Adds every device of `userId` that is not in the group yet. */
  async addUser(roomId: string, userId: string): Promise<void> {
    const claimed = await this.claim(userId);
    if (claimed.length === 0) return; // no devices yet: they join by external Commit later
    await this.#commit(roomId, async (state) => {
      const present = new Set(groupMembers(state).map((m) => deviceKey(m.device)));
      const todo = claimed.filter((c) => !present.has(deviceKey(c.ref)));
      if (todo.length === 0) return undefined;
      try {
        return {
          pending: await addMembers(
            state,
            todo.map((c) => c.keyPackage),
          ),
          addDevices: todo.map((c) => c.ref),
        };
      } catch (e) {
        // MLS-9: the group predates the server's change of suite, and the user's devices now
        // publish packages of the new one only (docs/OPERATIONS.md, "MLS cipher suite").
        if (isParleyCryptoError(e, "suite_mismatch")) throw asClientError(e);
        throw e;
      }
    });
  }

  /** Removes every leaf of `userId` from the group. */
  async removeUser(roomId: string, userId: string): Promise<void> {
    if ((await this.#d.groups.get(roomId)) === undefined) return;
    await this.#commit(roomId, async (state) => {
      const leaves = groupMembers(state).filter((m) => m.device.userId === userId);
      if (leaves.length === 0) return undefined;
      return {
        pending: await removeMembers(
          state,
          leaves.map((m) => m.leafIndex),
        ),
        removeDevices: leaves.map((m) => m.device),
      };
    });
  }

  /** One KeyPackage per device of a user (MLS-4), each checked against the device it claims to be. */
  async claim(userId: string): Promise<ClaimedDevice[]> {
    const answer = await this.#d.server.request({ type: "keypackages.claim", userId }, "keypackages");
    const out: ClaimedDevice[] = [];
    for (const d of answer.devices) {
      try {
        const keyPackage = base64ToBytes(d.keyPackage);
        const info = await inspectKeyPackage(keyPackage);
        const claimedKey = base64ToBytes(d.signatureKey);
        if (
          info.device.userId !== userId ||
          info.device.deviceId !== d.deviceId ||
          bytesToBase64(info.signaturePublicKey) !== bytesToBase64(claimedKey)
        ) {
          throw new ParleyClientError("key_package_invalid");
        }
        await this.#d.pins.observe(userId, info.certificate.identityKey, d.deviceId);
        out.push({ ref: { userId, deviceId: d.deviceId }, keyPackage });
      } catch (e) {
        this.#d.out.error(asClientError(e));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ joining and resyncing

  async groupInfo(roomId: string): Promise<{ epoch: number; groupInfo: string } | undefined> {
    try {
      const answer = await this.#d.server.request({ type: "mls.groupinfo.get", roomId }, "mls.groupinfo");
      return { epoch: answer.epoch, groupInfo: answer.groupInfo };
    } catch (e) {
      if (e instanceof ParleyClientError && e.code === "group_not_found") return undefined;
      throw e;
    }
  }

  /**
   * Makes sure this device is in the room's group and up to date with the delivery service.
   * With `create`, a room that has no group yet gets one made here (whoever commits first makes
   * it); without, such a room is left for its creator.
   */
  async ensureGroup(roomId: string, create = true): Promise<void> {
    await this.#d.inbox.drain();
    await this.#commitLock.run(roomId, () => this.#ensureGroupLocked(roomId, create));
  }

  async #ensureGroupLocked(roomId: string, create = true): Promise<void> {
    const info = await this.groupInfo(roomId);
    if (info === undefined) {
      if (!create || (await this.#d.groups.get(roomId)) !== undefined) return;
      if (await this.#createFirst(roomId, [])) return;
      return this.#ensureGroupLocked(roomId, false);
    }
    const target = BigInt(info.epoch);
    const caughtUp = (s: GroupState | undefined) => s !== undefined && groupEpoch(s) >= target;
    if (caughtUp(await this.#d.groups.get(roomId))) return;
    // A Welcome or the missing Commits may still be on their way through the queue; what was
    // queued before this request has been applied already (drain), so a short wait suffices.
    if (await this.#d.groups.waitFor(roomId, caughtUp, SHORT_SYNC_MS)) return;
    await this.#externalJoin(roomId, info);
  }

  /**
   * The rejoin pass, after each connect: rooms whose group this device is not in (a new device,
   * lost state) are joined, after the handshake queue resent on auth has been applied. Rooms
   * without a group yet are left to their creator. A lost connection ends the pass (thrown).
   * Returns the rooms the server listed (canonical ids), for the steps after the pass.
   */
  async rejoinRooms(): Promise<string[]> {
    const { rooms } = await this.#d.server.request({ type: "room.list" }, "rooms");
    await this.#d.inbox.drain();
    const ids = rooms.map((r) => canonicalRoomId(r.id));
    for (const id of ids) {
      if (this.#d.scheduler.closed) return ids;
      if (await this.#holdsOwnLeaf(id)) continue;
      try {
        await this.ensureGroup(id, false);
      } catch (e) {
        if (isConnectionGone(e)) throw e;
        this.#d.out.error(asClientError(e), id);
      }
    }
    return ids;
  }

  /**
   * Whether this device holds the room's group as itself. A state whose own leaf is another
   * device's (this device was made anew under a new identity key, IDENT-4, and kept the old
   * device's states) is dropped: its leaf is certified by a key the person no longer has, so
   * the device joins again as itself and the old leaf goes with the account's other old ones.
   */
  async #holdsOwnLeaf(roomId: string): Promise<boolean> {
    return this.#d.groupLock.run(roomId, async () => {
      const state = await this.#d.groups.get(roomId);
      if (state === undefined) return false;
      const own = ownLeafDevice(state);
      if (own !== undefined && sameDevice(own, this.#d.identity())) return true;
      await this.#d.groups.delete(roomId);
      return false;
    });
  }

  /** Rejoins in the background (outside the inbox, which must not wait for itself). */
  resyncSoon(roomId: string): void {
    if (this.#resyncing.has(roomId)) return;
    this.#d.scheduler.later(0, () => this.resync(roomId));
  }

  /** Brings the group to the delivery service's epoch, by external Commit if the queue cannot. */
  async resync(roomId: string): Promise<void> {
    const running = this.#resyncing.get(roomId);
    if (running !== undefined) return running;
    const task = this.#commitLock
      .run(roomId, () => this.#resyncLocked(roomId))
      .finally(() => {
        this.#resyncing.delete(roomId);
      });
    this.#resyncing.set(roomId, task);
    return task;
  }

  async #resyncLocked(roomId: string): Promise<void> {
    const info = await this.groupInfo(roomId);
    if (info === undefined) return;
    const state = await this.#d.groups.get(roomId);
    if (state !== undefined && groupEpoch(state) >= BigInt(info.epoch)) return;
    await this.#externalJoin(roomId, info);
  }

  /**
   * Joins (or rejoins, replacing this device's old leaf) by external Commit from the delivery
   * service's GroupInfo (RFC 9420 §12.4.3.2). Retries on a fresher GroupInfo when it loses.
   */
  async #externalJoin(roomId: string, first: { epoch: number; groupInfo: string }): Promise<void> {
    let info: { epoch: number; groupInfo: string } | undefined = first;
    const retries = this.#d.commitRetries;
    for (let attempt = 0; attempt <= retries && info !== undefined; attempt++) {
      const rejoin = (await this.#d.groups.get(roomId)) !== undefined;
      const joined = await joinByExternalCommit(
        base64ToBytes(info.groupInfo),
        this.#d.identity(),
        this.#d.mls,
      );
      const groupInfo = bytesToBase64(await exportGroupInfo(joined.state));
      try {
        await this.#d.server.request(
          {
            type: "mls.commit",
            roomId,
            epoch: info.epoch,
            commit: bytesToBase64(joined.commit),
            groupInfo,
            external: true,
          },
          "mls.accepted",
        );
      } catch (e) {
        if (!(e instanceof ParleyClientError) || e.code !== "stale_epoch") throw e;
        info = await this.groupInfo(roomId);
        continue;
      }
      await this.#groupLock.run(roomId, () => this.#d.groups.put(roomId, joined.state));
      this.#d.out.membership({
        source: "self",
        roomId,
        event: rejoin ? "rejoined" : "joined",
        epoch: Number(groupEpoch(joined.state)),
      });
      this.#d.out.epochChanged(roomId);
      return;
    }
    throw new ParleyClientError("commit_conflict");
  }
}

/**
 * Only the two ids go into a frame, whatever else the object holds: a DeviceIdentity is a
 * DeviceRef too, and its private key must never reach JSON.stringify.
 */
function idsOnly({ userId, deviceId }: DeviceRef): DeviceRef {
  return { userId, deviceId };
}
