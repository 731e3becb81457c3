import {
  type AuditedDevice,
  auditCommit,
  type CommitAudit,
  CommitAuditError,
  decodeRevocation,
  encodeCertificate,
  inspectKeyPackage,
  inspectMessage,
  ParleyCryptoError,
  verifyDeviceRevocation,
} from "@parley/crypto";
import {
  canonicalRoomId,
  DEFAULT_MLS_SUITE,
  deviceKey,
  IDENTITY_RESETS_MAX,
  type MlsSuite,
  sameDevice,
} from "@parley/protocol";
import type { Bus } from "../bus/bus.js";
import type { DeliveryStore, DeviceRef, NewKeyPackage, QueuedHandshake } from "../storage/delivery-store.js";
import { type Storage, StorageConflictError } from "../storage/storage.js";
import type { AuthContext } from "./accounts.js";
import { encodeFrame } from "./encode.js";
import { ParleyError } from "./errors.js";
import { asDeviceRef, asRoomId, type RoomId, type UserId } from "./ids.js";
import { isLimiterRejection, type Limiter, type LimiterFactory } from "./limiters.js";
import { TokenBuckets } from "./token-bucket.js";

/** Below this many single-use KeyPackages a device is told to upload more (MLS-3). */
export const KEY_PACKAGES_LOW = 10;
/** The most single-use KeyPackages one device may hold (MLS-3): bounds what a device can store. */
export const KEY_PACKAGES_MAX = 200;
const PENDING_BATCH = 500;
/** IDENT-4: how far the clocks of a service's servers may disagree when resets are asked for. */
export const RESET_CLOCK_SLACK_MS = 60_000;

export interface DeliveryServiceOptions {
  storage: Storage;
  bus: Bus;
  limiters: LimiterFactory;
  /** KeyPackage claims per user per minute. */
  claimsPerMinute?: number;
  /**
   * One-time KeyPackages per hour one account may take from another (default 10), and all
   * accounts together from one account (default 100). Beyond either, claims get the last resort.
   */
  claimsPerPair?: number;
  claimsPerTarget?: number;
  /** Registered devices one account may have (default 10). */
  maxDevicesPerAccount?: number;
  /**
   * KeyPackage signature checks per account: a budget of `burst` refilled at `ratePerSecond`
   * (default 300 and 5). Each check costs one; a request that would overdraw it is refused.
   */
  verifyBudget?: { ratePerSecond: number; burst: number };
  /** Counts the KeyPackages whose signature was checked (the work a request cost). */
  onVerified?: (count: number) => void;
  /** MLS-9: the suite of KeyPackages and new groups (PARLEY_MLS_SUITE). Default "x25519". */
  mlsSuite?: MlsSuite;
  /** Told once a new device is bound to an account (the audit log's `device_added`). */
  onDeviceAdded?: (ref: { userId: UserId; deviceId: string }) => void;
  /** Told once a device is removed, with the device that removed it (`device_removed`). */
  onDeviceRemoved?: (ref: { userId: UserId; deviceId: string }, by: string) => void;
  now?: () => number;
}

export interface DeviceRegistration {
  deviceId: string;
  signatureKey: string;
  keyPackages: readonly string[];
  lastResort: string;
}

export interface CommitRequest {
  roomId: string;
  epoch: number;
  commit: string;
  welcome?: string;
  groupInfo: string;
  addDevices?: readonly { userId: string; deviceId: string }[];
  removeDevices?: readonly { userId: string; deviceId: string }[];
  external?: boolean;
}

/**
 * The MLS delivery service and Authentication Service (RFC 9420 §14-16, RFC 9750): binds
 * device signature keys to accounts, keeps the KeyPackage directory, orders Commits (the first
 * for an epoch wins) and queues Commits and Welcomes per device until acknowledged. It reads
 * only the public framing of handshake messages; application messages never come here.
 */
export class DeliveryService {
  readonly #store: DeliveryStore;
  readonly #claims: Limiter;
  readonly #claimsPerPair: Limiter;
  readonly #claimsPerTarget: Limiter;
  readonly #verifyBudget: TokenBuckets;
  readonly #now: () => number;
  readonly #suite: MlsSuite;

  constructor(private readonly o: DeliveryServiceOptions) {
    this.#store = o.storage.delivery;
    const budget = o.verifyBudget ?? { ratePerSecond: 5, burst: 300 };
    this.#verifyBudget = new TokenBuckets(budget.ratePerSecond, budget.burst);
    this.#claims = o.limiters({ keyPrefix: "mls_kp_claim", points: o.claimsPerMinute ?? 120, duration: 60 });
    this.#claimsPerPair = o.limiters({
      keyPrefix: "mls_kp_pair",
      points: o.claimsPerPair ?? 10,
      duration: 3600,
    });
    this.#claimsPerTarget = o.limiters({
      keyPrefix: "mls_kp_target",
      points: o.claimsPerTarget ?? 100,
      duration: 3600,
    });
    this.#now = o.now ?? Date.now;
    this.#suite = o.mlsSuite ?? DEFAULT_MLS_SUITE;
  }

  /**
   * MLS-2: binds the device to the account and stores its KeyPackages. Registering again (an
   * answer lost on the way, or a replay) verifies only packages the device does not hold yet,
   * and only as many as it has room for: known input is never checked twice.
   */
  async registerDevice(
    auth: AuthContext,
    reg: DeviceRegistration,
  ): Promise<{ remaining: number; low: boolean }> {
    const ref: DeviceRef = { userId: auth.userId, deviceId: reg.deviceId };
    const existing = await this.#store.findDevice(ref);
    if (existing && existing.signatureKey !== reg.signatureKey) throw new ParleyError("device_key_mismatch");
    // IDENT-4: an account with an identity key and no device has just been reset.
    let afterReset = false;
    if (!existing) {
      // IDENT-5: a removed device stays removed; a new device has a new id.
      if ((await this.#store.findRevocation(ref)) !== undefined) throw new ParleyError("device_removed");
      const max = this.o.maxDevicesPerAccount ?? 10;
      const devices = await this.#store.listDevices(auth.userId);
      if (devices.length >= max) throw new ParleyError("too_many_devices");
      afterReset = devices.length === 0 && (await this.#store.findIdentityKey(auth.userId)) !== undefined;
    }
    const known = existing
      ? await this.#store.storedKeyPackages(ref, [...reg.keyPackages, reg.lastResort])
      : new Set<string>();
    // Single-use packages beyond what the device may hold are dropped instead of refused, and
    // are not checked at all.
    let room = KEY_PACKAGES_MAX - (existing ? await this.#store.countKeyPackages(ref) : 0);
    const fresh = [...new Set(reg.keyPackages)].filter((p) => !known.has(p) && room-- > 0);
    const lastResort = known.has(reg.lastResort) ? undefined : reg.lastResort;
    const { packages, certificate } = await this.#checkPackages(
      auth,
      ref,
      reg.signatureKey,
      fresh,
      lastResort,
    );
    if (!existing) {
      // The device's certificate comes with its KeyPackages; the first one an account shows
      // binds its identity key here (trust on first use, which each contact repeats for
      // themselves), and only an identity reset replaces it.
      if (certificate === undefined)
        throw new ParleyError("key_package_invalid", { details: ["/lastResort"] });
      await this.#bindIdentity(auth.userId, certificate.identityKey);
      try {
        // The count above refuses early, before any signature is checked; this one is the
        // authoritative check, made with the insert, which concurrent registrations cannot pass.
        const added = await this.#store.addDevice(
          {
            ...ref,
            signatureKey: reg.signatureKey,
            createdAt: this.#now(),
            certificate: certificate.encoded,
          },
          this.o.maxDevicesPerAccount ?? 10,
        );
        if (!added) throw new ParleyError("too_many_devices");
      } catch (e) {
        // The same key under another device id or account: a key is one device's alone.
        if (e instanceof StorageConflictError) throw new ParleyError("device_key_mismatch");
        throw e;
      }
      this.o.onDeviceAdded?.(ref);
    }
    await this.#store.addKeyPackages(packages, this.#now());
    // IDENT-4: the new identity key can now be met (in this device's certificate), so everyone
    // who shares a room with the person hears of it and takes the old devices' leaves out of
    // their groups. A hint only, with no key: clients check the certificates themselves.
    if (afterReset) {
      // Devices away at this moment ask for it when they are back (identityResetsSince).
      await this.#store.markIdentityReset(auth.userId, this.#now());
      const told = await this.#roomPeers(auth.userId);
      told.delete(auth.userId);
      if (told.size > 0)
        this.o.bus.deliver([...told], encodeFrame({ type: "identity.reset", userId: auth.userId }));
    }
    return this.#supply(ref);
  }

  /** MLS-3 */
  async uploadKeyPackages(
    auth: AuthContext,
    deviceId: string | null,
    keyPackages: readonly string[],
    lastResort: string | undefined,
  ): Promise<{ remaining: number; low: boolean }> {
    const device = await this.#ownDevice(auth, deviceId);
    if ((await this.#store.countKeyPackages(device)) + keyPackages.length > KEY_PACKAGES_MAX)
      throw new ParleyError("key_packages_full", { details: ["/keyPackages"] });
    const { packages } = await this.#checkPackages(
      auth,
      device,
      device.signatureKey,
      keyPackages,
      lastResort,
    );
    await this.#store.addKeyPackages(packages, this.#now());
    return this.#supply(device);
  }

  /**
   * MLS-4: one package per device of the user; tells a device that runs low. RFC 9420 §16.8 and
   * RFC 9750 §5.2: one-time packages are a resource others can exhaust, so claims per (claimer,
   * target) and per target are limited; beyond the limits the last resort is handed out, which
   * keeps adding members possible without draining anyone's one-time supply. A device claiming
   * its own account's packages (to add the person's other devices) gets none of its own: it is
   * in the group already, and its single-use packages are kept for others.
   */
  async claim(auth: AuthContext, userId: UserId, claimerDeviceId?: string) {
    try {
      await this.#claims.consume(auth.userId);
    } catch (e) {
      if (isLimiterRejection(e)) throw new ParleyError("rate_limited", { retryAfterMs: e.msBeforeNext });
      throw e;
    }
    if (!(await this.o.storage.findUserById(userId))) throw new ParleyError("user_not_found");
    const oneTime =
      (await withinLimit(this.#claimsPerPair, `${auth.userId}:${userId}`)) &&
      (await withinLimit(this.#claimsPerTarget, userId));
    const out: { deviceId: string; signatureKey: string; keyPackage: string }[] = [];
    for (const device of await this.#store.listDevices(userId)) {
      if (userId === auth.userId && device.deviceId === claimerDeviceId) continue;
      const claimed = oneTime
        ? await this.#claimInSuite(device)
        : await this.#store
            .lastResortKeyPackage(device)
            .then((p) => p && { keyPackage: p, lastResort: true });
      if (!claimed) continue;
      out.push({
        deviceId: device.deviceId,
        signatureKey: device.signatureKey,
        keyPackage: claimed.keyPackage,
      });
      const supply = await this.#supply(device);
      if (supply.low) {
        this.o.bus.deliverToDevice(
          device.userId,
          device.deviceId,
          encodeFrame({ type: "keypackages.count", ...supply }),
        );
      }
    }
    return { userId, devices: out };
  }

  /**
   * MLS-9: a single-use package left over from before the server changed suite cannot join a
   * new group; it is dropped (consumed) and the next is claimed. The device's last resort is
   * handed out as it is, and the device replaces it with one of the new suite when it connects.
   */
  async #claimInSuite(device: DeviceRef) {
    for (let i = 0; i <= KEY_PACKAGES_MAX; i++) {
      const claimed = await this.#store.claimKeyPackage(device);
      if (!claimed || claimed.lastResort || packageSuite(claimed.keyPackage) === this.#suite) return claimed;
    }
    return undefined;
  }

  /**
   * A user's devices with copies of their certificates and the identity key bound to the
   * account, for discovery: clients check every certificate themselves and pin the identity
   * key per person, so a server that lies here is caught, not believed.
   */
  async devices(userId: UserId) {
    if (!(await this.o.storage.findUserById(userId))) throw new ParleyError("user_not_found");
    const [devices, identityKey, revoked] = await Promise.all([
      this.#store.listDevices(userId),
      this.#store.findIdentityKey(userId),
      this.#store.listRevocations(userId),
    ]);
    return {
      userId,
      identityKey: identityKey ?? null,
      revoked,
      devices: devices.map((d) => ({
        deviceId: d.deviceId,
        signatureKey: d.signatureKey,
        createdAt: d.createdAt,
        ...(d.certificate !== null && d.certificate !== undefined ? { certificate: d.certificate } : {}),
      })),
    };
  }

  /**
   * IDENT-5: another device of the caller's account signs that `targetId` is removed. The
   * revocation must be the account identity key's signature over that device and its
   * registered key (the server cannot make one, and keeps it for others to check). The device
   * goes with its KeyPackages and queues; its leaves stay in groups until a Commit removes them
   * (any member may). Returns the stored revocation.
   */
  async removeDevice(
    auth: AuthContext,
    deviceId: string | null,
    targetId: string,
    revocation: string,
  ): Promise<string> {
    const own = await this.#ownDevice(auth, deviceId);
    if (own.deviceId === targetId) throw new ParleyError("invalid_target", { details: ["/deviceId"] });
    const ref: DeviceRef = { userId: auth.userId, deviceId: targetId };
    const [target, identityKey] = await Promise.all([
      this.#store.findDevice(ref),
      this.#store.findIdentityKey(auth.userId),
    ]);
    if (target === undefined) throw new ParleyError("device_not_found", { details: ["/deviceId"] });
    let decoded: ReturnType<typeof decodeRevocation>;
    try {
      decoded = decodeRevocation(Buffer.from(revocation, "base64"));
    } catch {
      throw new ParleyError("revocation_invalid", { details: ["/revocation"] });
    }
    const ok =
      decoded.userId === auth.userId &&
      decoded.deviceId === targetId &&
      identityKey !== undefined &&
      Buffer.from(decoded.identityKey).toString("base64") === identityKey &&
      Buffer.from(decoded.deviceKey).toString("base64") === target.signatureKey &&
      verifyDeviceRevocation(decoded);
    if (!ok) throw new ParleyError("revocation_invalid", { details: ["/revocation"] });
    const encoded = Buffer.from(revocation, "base64").toString("base64");
    if (!(await this.#store.revokeDevice(ref, encoded, this.#now())))
      throw new ParleyError("device_not_found", { details: ["/deviceId"] });
    this.o.onDeviceRemoved?.(ref, own.deviceId);
    // Its sockets close wherever they are, and its sessions (with their refresh tokens) end.
    this.o.bus.publishControl({ type: "device.removed", userId: auth.userId, deviceId: targetId });
    for (const sessionId of await this.o.storage.revokeDeviceSessions(auth.userId, targetId, this.#now()))
      this.o.bus.publishControl({ type: "session.revoked", sessionId, reason: "device_removed" });
    // Everyone who shares a room with the person hears of it, to take its leaves out of groups.
    const told = await this.#roomPeers(auth.userId);
    told.add(auth.userId);
    this.o.bus.deliver(
      [...told],
      encodeFrame({ type: "device.removed", userId: auth.userId, deviceId: targetId, revocation: encoded }),
    );
    return encoded;
  }

  /** IDENT-5: true when the account removed this device. */
  async isRemoved(userId: UserId, deviceId: string): Promise<boolean> {
    return (await this.#store.findRevocation({ userId, deviceId })) !== undefined;
  }

  /**
   * IDENT-4: who among the people sharing a room with the caller reset their identity (their new
   * key's first device registered) at or after `since`, by the server's clock: the
   * `identity.reset` hints a device missed while it was away. Servers of one service may
   * disagree on the time, so the window opens RESET_CLOCK_SLACK_MS earlier: a hint given twice
   * costs a device-list request, one missed costs an alarm.
   */
  async identityResetsSince(auth: AuthContext, since: number): Promise<UserId[]> {
    return this.#store.identityResetsSince(
      auth.userId,
      Math.max(0, since - RESET_CLOCK_SLACK_MS),
      IDENTITY_RESETS_MAX,
    );
  }

  /** The identity key bound to the account (base64), or null before its first device registers. */
  async identityKey(userId: UserId): Promise<string | null> {
    return (await this.#store.findIdentityKey(userId)) ?? null;
  }

  /**
   * Identity reset (the caller has checked the password): `identityKey` (base64, 32 bytes)
   * becomes the account's, and every device of the account is deleted, since their
   * certificates name the old key. Contacts who pinned the old key see it change.
   */
  async resetIdentity(userId: UserId, identityKey: string): Promise<void> {
    if (Buffer.from(identityKey, "base64").length !== 32)
      throw new ParleyError("validation_failed", { details: ["/identityKey"] });
    await this.#store.resetIdentityKey(userId, identityKey, this.#now());
  }

  /** MLS-5: RFC 9420 §14, the first Commit for an epoch wins; Welcomes go out only with it. */
  async commit(
    auth: AuthContext,
    deviceId: string | null,
    req: CommitRequest,
  ): Promise<{ roomId: RoomId; epoch: number }> {
    const device = await this.#ownDevice(auth, deviceId);
    const roomId = asRoomId(canonicalRoomId(req.roomId));
    const room = await this.o.storage.findRoom(roomId);
    if (!room) throw new ParleyError("room_not_found");
    const members = new Set((await this.o.storage.listMembers(roomId)).map((m) => m.userId));
    if (!members.has(auth.userId)) throw new ParleyError("not_a_member");

    this.#checkCommitFraming(req, roomId);
    const group = await this.#store.findGroup(roomId);
    const inGroup = group ? await this.#store.groupDevices(roomId) : [];
    const groupKeys = new Set(inGroup.map((d) => deviceKey(d)));
    const external = req.external === true;
    // A Commit for an epoch that has passed lost the race, whoever sent it (RFC 9420 §14).
    if (group && req.epoch !== group.epoch) throw new ParleyError("stale_epoch", { epoch: group.epoch });
    if (group && !external && !groupKeys.has(deviceKey(device))) {
      throw new ParleyError("commit_invalid", { details: ["/from"] });
    }
    // What the Commit itself does, read and checked without any group secret: the membership
    // recorded below is the one the group's members will compute, not the client's say-so.
    const audit = await this.#audit(group?.groupInfo, req);
    // MLS-9: a new group is made in the server's suite; an existing one keeps its own (the
    // audit has checked that both GroupInfos and every added KeyPackage share one suite).
    if (!group && audit.suite !== this.#suite)
      throw new ParleyError("mls_suite_mismatch", { details: ["/groupInfo"] });
    if (req.welcome !== undefined && welcomeSuite(req.welcome) !== audit.suite)
      throw new ParleyError("mls_suite_mismatch", { details: ["/welcome"] });
    if (!(await this.#isBound(audit.committer)) || !sameDevice(audit.committer.device, device)) {
      throw new ParleyError("commit_invalid", { details: ["/commit"] });
    }
    this.#declared(req.addDevices, external ? [] : audit.added, "/addDevices");
    // A device rejoining by external Commit replaces its own old leaf; it stays in the group.
    const removed = external ? audit.removed.filter((d) => !sameDevice(d.device, device)) : audit.removed;
    this.#declared(req.removeDevices, removed, "/removeDevices");

    const add: DeviceRef[] = [];
    for (const d of external ? [] : audit.added) {
      const ref = asDeviceRef(d.device);
      // The Authentication Service check: an added leaf carries the device's registered key.
      if (!(await this.#isBound(d))) throw new ParleyError("commit_invalid", { details: ["/addDevices"] });
      const allowed = members.has(ref.userId) || (await this.o.storage.hasRoomInvite(roomId, ref.userId));
      if (!allowed) throw new ParleyError("not_invited", { details: ["/addDevices"] });
      add.push(ref);
    }
    const remove: DeviceRef[] = [];
    for (const d of removed) {
      const ref = asDeviceRef(d.device);
      if (!groupKeys.has(deviceKey(ref)))
        throw new ParleyError("commit_invalid", { details: ["/removeDevices"] });
      // Anyone may drop devices of people who left, and devices the server no longer has: their
      // person removed them (IDENT-5) or reset their identity (IDENT-4); one's own devices; the
      // owner anyone's.
      const ok =
        ref.userId === auth.userId ||
        !members.has(ref.userId) ||
        (!external && room.ownerId === auth.userId) ||
        (!external && (await this.#store.findDevice(ref)) === undefined);
      if (!ok) throw new ParleyError("not_room_owner", { details: ["/removeDevices"] });
      remove.push(ref);
    }

    // Devices of invited users who were added (by Welcome) but have not joined the room yet
    // must follow the group too, or their state falls behind before they ever join.
    const recipients = new Set(members);
    for (const d of inGroup) {
      if (!recipients.has(d.userId) && (await this.o.storage.hasRoomInvite(roomId, d.userId))) {
        recipients.add(d.userId);
      }
    }
    const outcome = await this.#store.acceptCommit({
      roomId,
      epoch: req.epoch,
      commit: req.commit,
      welcome: req.welcome ?? null,
      groupInfo: req.groupInfo,
      from: device,
      add,
      remove,
      committerJoins: external || !group,
      roomMembers: recipients,
      at: this.#now(),
    });
    if (!outcome.accepted) throw new ParleyError("stale_epoch", { epoch: outcome.epoch });
    for (const { to, entry } of outcome.queued) {
      this.o.bus.deliverToDevice(to.userId, to.deviceId, encodeFrame(handshakeFrame(entry)));
    }
    return { roomId, epoch: outcome.epoch };
  }

  /** MLS-6 */
  async ack(auth: AuthContext, deviceId: string | null, upTo: number): Promise<void> {
    if (deviceId === null) throw new ParleyError("device_required");
    await this.#store.ackHandshakes({ userId: auth.userId, deviceId }, upTo);
  }

  /** Everything still queued for a device, oldest first, as frames ready to send. */
  async pendingFrames(auth: AuthContext, deviceId: string): Promise<Buffer[]> {
    const entries = await this.#store.pendingHandshakes({ userId: auth.userId, deviceId }, PENDING_BATCH);
    return entries.map((e) => encodeFrame(handshakeFrame(e)));
  }

  /** MLS-7: for members of the room only. */
  async groupInfo(auth: AuthContext, rawRoomId: string) {
    const roomId = asRoomId(canonicalRoomId(rawRoomId));
    if (!(await this.o.storage.findRoom(roomId))) throw new ParleyError("room_not_found");
    if (!(await this.o.storage.isMember(roomId, auth.userId))) throw new ParleyError("not_a_member");
    const group = await this.#store.findGroup(roomId);
    if (!group) throw new ParleyError("group_not_found");
    return { roomId, epoch: group.epoch, groupInfo: group.groupInfo };
  }

  async isRegistered(userId: UserId, deviceId: string): Promise<boolean> {
    return (await this.#store.findDevice({ userId, deviceId })) !== undefined;
  }

  async #ownDevice(auth: AuthContext, deviceId: string | null) {
    if (deviceId === null) throw new ParleyError("device_required");
    const device = await this.#store.findDevice({ userId: auth.userId, deviceId });
    if (!device) throw new ParleyError("device_required");
    return device;
  }

  async #supply(ref: DeviceRef): Promise<{ remaining: number; low: boolean }> {
    const remaining = await this.#store.countKeyPackages(ref);
    return { remaining, low: remaining < KEY_PACKAGES_LOW };
  }

  /**
   * The Authentication Service check (RFC 9420 §5.3.1, §16.10): every KeyPackage must carry this
   * account's and device's credential and the device's registered signature key, verify under
   * it, and be within its lifetime. A server that accepted others' packages could hand out keys
   * it controls. Each check is charged to the account's verification budget before any is made,
   * and the checks yield to the event loop between packages, so one account's uploads neither
   * stall the others' requests nor run without bound.
   */
  async #checkPackages(
    auth: AuthContext,
    ref: DeviceRef,
    signatureKey: string,
    keyPackages: readonly string[],
    lastResort: string | undefined,
  ) {
    const expectedKey = Buffer.from(signatureKey, "base64");
    const nowS = BigInt(Math.floor(this.#now() / 1000));
    const all = [
      ...keyPackages.map((p) => ({ p, last: false })),
      ...(lastResort ? [{ p: lastResort, last: true }] : []),
    ];
    const out: NewKeyPackage[] = [];
    let certificate: { encoded: string; identityKey: string } | undefined;
    if (all.length === 0) return { packages: out, certificate };
    const accountKey = await this.#store.findIdentityKey(ref.userId);
    const wait = this.#verifyBudget.take(auth.userId, all.length);
    if (wait > 0) throw new ParleyError("rate_limited", { retryAfterMs: wait });
    this.o.onVerified?.(all.length);
    for (const [i, { p, last }] of all.entries()) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const where = last ? "/lastResort" : `/keyPackages/${i}`;
      let info: Awaited<ReturnType<typeof inspectKeyPackage>>;
      try {
        info = await inspectKeyPackage(Buffer.from(p, "base64"));
      } catch (e) {
        if (e instanceof ParleyCryptoError)
          throw new ParleyError("key_package_invalid", { details: [where] });
        throw e;
      }
      const ok =
        sameDevice(info.device, ref) &&
        Buffer.from(info.signaturePublicKey).equals(expectedKey) &&
        info.lastResort === last &&
        info.notBefore <= nowS + 300n &&
        info.notAfter > nowS;
      if (!ok) throw new ParleyError("key_package_invalid", { details: [where] });
      // MLS-9: the directory holds packages of the server's suite only.
      if (info.suite !== this.#suite) throw new ParleyError("mls_suite_mismatch", { details: [where] });
      // One certificate per device: every package carries the same one.
      const encoded = Buffer.from(encodeCertificate(info.certificate)).toString("base64");
      if (certificate !== undefined && certificate.encoded !== encoded)
        throw new ParleyError("key_package_invalid", { details: [where] });
      certificate ??= { encoded, identityKey: Buffer.from(info.certificate.identityKey).toString("base64") };
      if (accountKey !== undefined && certificate.identityKey !== accountKey)
        throw new ParleyError("identity_key_mismatch", { details: [where] });
      out.push({ ...ref, ref: Buffer.from(info.ref).toString("hex"), keyPackage: p, lastResort: last });
    }
    return { packages: out, certificate };
  }

  /** Everyone who shares a room with `userId` (themself included when in any room). */
  async #roomPeers(userId: UserId): Promise<Set<UserId>> {
    const peers = new Set<UserId>();
    for (const room of await this.o.storage.listRoomsOfUser(userId))
      for (const m of await this.o.storage.listMembers(room.id)) peers.add(m.userId);
    return peers;
  }

  async #bindIdentity(userId: UserId, identityKey: string): Promise<void> {
    const bound = await this.#store.bindIdentityKey(userId, identityKey, this.#now());
    if (bound !== identityKey) throw new ParleyError("identity_key_mismatch");
  }

  async #audit(previousGroupInfo: string | undefined, req: CommitRequest): Promise<CommitAudit> {
    try {
      return await auditCommit(
        previousGroupInfo === undefined ? undefined : Buffer.from(previousGroupInfo, "base64"),
        Buffer.from(req.commit, "base64"),
        Buffer.from(req.groupInfo, "base64"),
      );
    } catch (e) {
      if (e instanceof CommitAuditError) {
        const code = e.code === "suite_mismatch" ? "mls_suite_mismatch" : "commit_invalid";
        throw new ParleyError(code, { details: [`/${e.part}`] });
      }
      throw e;
    }
  }

  /**
   * True when the leaf names a registered device of its account, with that device's key, and
   * its certificate (verified by the audit) is signed by the identity key bound to the account.
   */
  async #isBound(d: AuditedDevice): Promise<boolean> {
    const ref = asDeviceRef(d.device);
    const [found, identityKey] = await Promise.all([
      this.#store.findDevice(ref),
      this.#store.findIdentityKey(ref.userId),
    ]);
    return (
      found !== undefined &&
      Buffer.from(found.signatureKey, "base64").equals(d.signaturePublicKey) &&
      identityKey !== undefined &&
      Buffer.from(identityKey, "base64").equals(d.identityKey)
    );
  }

  /** The devices a client declares it adds or removes must be exactly those its Commit does. */
  #declared(
    declared: CommitRequest["addDevices"],
    actual: readonly AuditedDevice[],
    where: "/addDevices" | "/removeDevices",
  ): void {
    const named = new Set((declared ?? []).map((d) => deviceKey(d)));
    const made = new Set(actual.map((d) => deviceKey(d.device)));
    const same =
      named.size === (declared ?? []).length &&
      named.size === made.size &&
      [...made].every((k) => named.has(k));
    if (!same) throw new ParleyError("commit_invalid", { details: [where] });
  }

  /** Reads the Commit's public framing (RFC 9420 §6.2): its group, epoch and kind must fit. */
  #checkCommitFraming(req: CommitRequest, roomId: RoomId): void {
    let info: ReturnType<typeof inspectMessage>;
    try {
      info = inspectMessage(Buffer.from(req.commit, "base64"));
    } catch {
      throw new ParleyError("commit_invalid", { details: ["/commit"] });
    }
    const expectedSender = req.external ? "new_member_commit" : "member";
    const fits =
      info.wireformat === "public_message" &&
      info.contentType === "commit" &&
      info.senderType === expectedSender &&
      info.epoch === BigInt(req.epoch) &&
      Buffer.from(info.groupId).equals(Buffer.from(roomId, "utf8"));
    if (!fits) throw new ParleyError("commit_invalid", { details: ["/commit"] });
  }
}

/** Consumes a point; false (instead of throwing) when the limit is reached. */
async function withinLimit(limiter: Limiter, key: string): Promise<boolean> {
  try {
    await limiter.consume(key);
    return true;
  } catch (e) {
    if (isLimiterRejection(e)) return false;
    throw e;
  }
}

/** The suite a stored KeyPackage names; undefined when it does not decode (it was checked on upload). */
function packageSuite(keyPackage: string): MlsSuite | undefined {
  try {
    const info = inspectMessage(Buffer.from(keyPackage, "base64"));
    return info.wireformat === "key_package" ? info.suite : undefined;
  } catch {
    return undefined;
  }
}

function welcomeSuite(welcome: string): MlsSuite | undefined {
  try {
    const info = inspectMessage(Buffer.from(welcome, "base64"));
    return info.wireformat === "welcome" ? info.suite : undefined;
  } catch {
    return undefined;
  }
}

export function handshakeFrame(e: QueuedHandshake) {
  return {
    type: "mls.handshake" as const,
    seq: e.seq,
    roomId: e.roomId,
    kind: e.kind,
    epoch: e.epoch,
    from: { userId: e.from.userId, deviceId: e.from.deviceId },
    payload: e.payload,
  };
}
