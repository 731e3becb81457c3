import { deviceKey, type DeviceRef as ProtocolDeviceRef, sameDevice } from "@parley/protocol";
import { type Kysely, sql, type Transaction } from "kysely";
import type { RoomId, UserId } from "../domain/ids.js";
import type { Database } from "./database.js";
import { toFlag } from "./rows.js";
import { StorageConflictError } from "./storage.js";
import { rejectingConflicts, toConflictError } from "./unique-violation.js";

export type DeviceRef = ProtocolDeviceRef<UserId>;

export interface DeviceRecord extends DeviceRef {
  signatureKey: string;
  createdAt: number;
  /** The device's certificate (base64), as its KeyPackages carry it; null for devices from before 0004. */
  certificate?: string | null;
}

export interface NewKeyPackage extends DeviceRef {
  /** KeyPackageRef (RFC 9420 §5.2), hex: unique per package. */
  ref: string;
  keyPackage: string;
  lastResort: boolean;
}

export interface QueuedHandshake {
  seq: number;
  roomId: RoomId;
  kind: "commit" | "welcome";
  epoch: number;
  from: DeviceRef;
  payload: string;
}

export interface CommitInput {
  roomId: RoomId;
  /** The epoch the Commit was made in; the server's epoch must equal it. */
  epoch: number;
  commit: string;
  welcome: string | null;
  groupInfo: string;
  from: DeviceRef;
  add: readonly DeviceRef[];
  remove: readonly DeviceRef[];
  /** The committer's device becomes a member by this Commit (first Commit, or external). */
  committerJoins: boolean;
  /** Only devices of these users get the Commit: a user who left the room gets nothing more. */
  roomMembers: ReadonlySet<UserId>;
  at: number;
}

export type CommitOutcome =
  | { accepted: true; epoch: number; queued: { to: DeviceRef; entry: QueuedHandshake }[] }
  | { accepted: false; epoch: number };

/**
 * The MLS delivery service's records. Separate from Storage's accounts and rooms because it is
 * its own concern, but on the same database and connection pool.
 */
export interface DeliveryStore {
  findDevice(ref: DeviceRef): Promise<DeviceRecord | undefined>;
  /** Throws StorageConflictError "device" (id taken) or "device_key" (key bound elsewhere). */
  /**
   * Adds the device; with `maxPerAccount`, only while the account has fewer devices than that,
   * checked and written as one step (false when at the cap), so registrations racing each other
   * cannot pass it together.
   */
  addDevice(device: DeviceRecord, maxPerAccount?: number): Promise<boolean>;
  listDevices(userId: UserId): Promise<DeviceRecord[]>;
  /** The identity key (base64) bound to the account, if any. */
  findIdentityKey(userId: UserId): Promise<string | undefined>;
  /**
   * Binds `identityKey` to the account unless one is bound already; returns the key bound
   * after the call (the given one, or the one that was there).
   */
  bindIdentityKey(userId: UserId, identityKey: string, at: number): Promise<string>;
  /**
   * Identity reset: binds a new identity key and deletes every device of the account (their
   * certificates name the old key), with their KeyPackages and queues. Their places in groups
   * stay until a Commit removes their leaves.
   */
  resetIdentityKey(userId: UserId, identityKey: string, at: number): Promise<void>;
  /**
   * IDENT-4: records that the account's reset identity key got its first device at `at`: the
   * moment the person's room peers are told (`identity.reset`).
   */
  markIdentityReset(userId: UserId, at: number): Promise<void>;
  /**
   * IDENT-4: the people who share a room with `userId` (never `userId`) whose reset was marked
   * at or after `since`, the most recent first, at most `limit`.
   */
  identityResetsSince(userId: UserId, since: number, limit: number): Promise<UserId[]>;
  /**
   * IDENT-5: keeps the identity key's revocation of a device and deletes the device with its
   * KeyPackages and queues. Its places in groups stay until a Commit removes its leaves.
   * False when the device does not exist.
   */
  revokeDevice(ref: DeviceRef, revocation: string, at: number): Promise<boolean>;
  /** The revocation (base64) of a removed device, if it was removed. */
  findRevocation(ref: DeviceRef): Promise<string | undefined>;
  /** The account's removed devices and their revocations, oldest first. */
  listRevocations(userId: UserId): Promise<{ deviceId: string; revocation: string }[]>;
  /** Stores packages (a repeated ref is ignored); a new last resort replaces the old one. */
  addKeyPackages(packages: readonly NewKeyPackage[], at: number): Promise<void>;
  /** Those of `keyPackages` (as uploaded) that the device holds already, its last resort included. */
  storedKeyPackages(ref: DeviceRef, keyPackages: readonly string[]): Promise<Set<string>>;
  /** The device's last-resort package (never consumed). */
  lastResortKeyPackage(ref: DeviceRef): Promise<string | undefined>;
  /** Single-use packages left for a device (the last resort not counted). */
  countKeyPackages(ref: DeviceRef): Promise<number>;
  /** Takes one single-use package atomically, else returns the last resort (not consumed). */
  claimKeyPackage(ref: DeviceRef): Promise<{ keyPackage: string; lastResort: boolean } | undefined>;
  findGroup(roomId: RoomId): Promise<{ epoch: number; groupInfo: string } | undefined>;
  groupDevices(roomId: RoomId): Promise<DeviceRef[]>;
  /**
   * RFC 9420 §14: the first Commit for an epoch wins. One transaction checks the epoch with a
   * conditional update, applies the membership change and queues the Commit for every other
   * member device and the Welcome for every added one.
   */
  acceptCommit(input: CommitInput): Promise<CommitOutcome>;
  pendingHandshakes(ref: DeviceRef, limit: number): Promise<QueuedHandshake[]>;
  /** Drops queued entries up to and including `upTo`; returns how many. */
  ackHandshakes(ref: DeviceRef, upTo: number): Promise<number>;
}

export class KyselyDeliveryStore implements DeliveryStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: "sqlite" | "postgres" = "sqlite",
  ) {}

  async findDevice(ref: DeviceRef): Promise<DeviceRecord | undefined> {
    const row = await this.db
      .selectFrom("devices")
      .selectAll()
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .executeTakeFirst();
    return row && toDevice(row);
  }

  async addDevice(d: DeviceRecord, maxPerAccount = Number.POSITIVE_INFINITY): Promise<boolean> {
    return rejectingConflicts(
      this.db.transaction().execute(async (trx) => {
        if (Number.isFinite(maxPerAccount)) {
          // PostgreSQL: the account's row stays locked until commit, so two registrations of one
          // account take turns here. SQLite runs one write transaction at a time anyway.
          if (this.dialect === "postgres")
            await trx.selectFrom("users").select("id").where("id", "=", d.userId).forUpdate().execute();
          const row = await trx
            .selectFrom("devices")
            .select((eb) => eb.fn.countAll<number | string>().as("n"))
            .where("user_id", "=", d.userId)
            .executeTakeFirst();
          if (Number(row?.n ?? 0) >= maxPerAccount) return false;
        }
        await trx
          .insertInto("devices")
          .values({
            user_id: d.userId,
            device_id: d.deviceId,
            signature_key: d.signatureKey,
            next_seq: 0,
            created_at: d.createdAt,
            certificate: d.certificate ?? null,
          })
          .execute();
        return true;
      }),
    );
  }

  async listDevices(userId: UserId): Promise<DeviceRecord[]> {
    const rows = await this.db
      .selectFrom("devices")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("created_at")
      .orderBy("device_id")
      .execute();
    return rows.map(toDevice);
  }

  async findIdentityKey(userId: UserId): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("identity_keys")
      .select("identity_key")
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row?.identity_key;
  }

  async bindIdentityKey(userId: UserId, identityKey: string, at: number): Promise<string> {
    await this.db
      .insertInto("identity_keys")
      .values({ user_id: userId, identity_key: identityKey, created_at: at })
      .onConflict((oc) => oc.column("user_id").doNothing())
      .execute();
    return (await this.findIdentityKey(userId)) ?? identityKey;
  }

  async resetIdentityKey(userId: UserId, identityKey: string, at: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("identity_keys").where("user_id", "=", userId).execute();
      await trx
        .insertInto("identity_keys")
        .values({ user_id: userId, identity_key: identityKey, created_at: at })
        .execute();
      // Children first: SQLite enforces the cascades only with foreign_keys on. The devices'
      // places in groups stay, as for a removed device (IDENT-5), until a Commit takes their
      // leaves out: the DS must know them to accept that Commit.
      for (const table of ["handshake_queue", "key_packages"] as const) {
        await trx.deleteFrom(table).where("user_id", "=", userId).execute();
      }
      await trx.deleteFrom("offline_queue").where("user_id", "=", userId).execute();
      await trx.deleteFrom("offline_queue_cursors").where("user_id", "=", userId).execute();
      await trx.deleteFrom("device_revocations").where("user_id", "=", userId).execute();
      await trx.deleteFrom("devices").where("user_id", "=", userId).execute();
    });
  }

  async markIdentityReset(userId: UserId, at: number): Promise<void> {
    await this.db.updateTable("identity_keys").set({ reset_at: at }).where("user_id", "=", userId).execute();
  }

  async identityResetsSince(userId: UserId, since: number, limit: number): Promise<UserId[]> {
    // The index on reset_at finds the few recent resets; only those are checked for a shared room.
    const rows = await this.db
      .selectFrom("identity_keys as k")
      .select("k.user_id")
      .where("k.reset_at", ">=", since)
      .where("k.user_id", "<>", userId)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom("room_members as theirs")
            .innerJoin("room_members as mine", "mine.room_id", "theirs.room_id")
            .select("theirs.room_id")
            .whereRef("theirs.user_id", "=", "k.user_id")
            .where("mine.user_id", "=", userId),
        ),
      )
      .orderBy("k.reset_at", "desc")
      .orderBy("k.user_id")
      .limit(limit)
      .execute();
    return rows.map((r) => r.user_id);
  }

  async revokeDevice(ref: DeviceRef, revocation: string, at: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const found = await trx
        .selectFrom("devices")
        .select("device_id")
        .where("user_id", "=", ref.userId)
        .where("device_id", "=", ref.deviceId)
        .executeTakeFirst();
      if (found === undefined) return false;
      await trx
        .insertInto("device_revocations")
        .values({ user_id: ref.userId, device_id: ref.deviceId, revocation, revoked_at: at })
        .onConflict((oc) => oc.columns(["user_id", "device_id"]).doNothing())
        .execute();
      // Children first: SQLite enforces the cascades only with foreign_keys on.
      const tables = [
        "handshake_queue",
        "key_packages",
        "offline_queue",
        "offline_queue_cursors",
        "devices",
      ] as const;
      for (const table of tables) {
        await trx
          .deleteFrom(table)
          .where("user_id", "=", ref.userId)
          .where("device_id", "=", ref.deviceId)
          .execute();
      }
      return true;
    });
  }

  async findRevocation(ref: DeviceRef): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("device_revocations")
      .select("revocation")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .executeTakeFirst();
    return row?.revocation;
  }

  async listRevocations(userId: UserId): Promise<{ deviceId: string; revocation: string }[]> {
    const rows = await this.db
      .selectFrom("device_revocations")
      .select(["device_id", "revocation"])
      .where("user_id", "=", userId)
      .orderBy("revoked_at")
      .orderBy("device_id")
      .execute();
    return rows.map((r) => ({ deviceId: r.device_id, revocation: r.revocation }));
  }

  async addKeyPackages(packages: readonly NewKeyPackage[], at: number): Promise<void> {
    if (packages.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const p of packages) {
        if (p.lastResort) {
          await trx
            .deleteFrom("key_packages")
            .where("user_id", "=", p.userId)
            .where("device_id", "=", p.deviceId)
            .where("last_resort", "=", 1)
            .execute();
        }
        await trx
          .insertInto("key_packages")
          .values({
            ref: p.ref,
            user_id: p.userId,
            device_id: p.deviceId,
            key_package: p.keyPackage,
            last_resort: toFlag(p.lastResort),
            created_at: at,
          })
          .onConflict((oc) => oc.column("ref").doNothing())
          .execute();
      }
    });
  }

  async storedKeyPackages(ref: DeviceRef, keyPackages: readonly string[]): Promise<Set<string>> {
    if (keyPackages.length === 0) return new Set();
    const rows = await this.db
      .selectFrom("key_packages")
      .select("key_package")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("key_package", "in", [...new Set(keyPackages)])
      .execute();
    return new Set(rows.map((r) => r.key_package));
  }

  async lastResortKeyPackage(ref: DeviceRef): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("key_packages")
      .select("key_package")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("last_resort", "=", 1)
      .executeTakeFirst();
    return row?.key_package;
  }

  async countKeyPackages(ref: DeviceRef): Promise<number> {
    const row = await this.db
      .selectFrom("key_packages")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("last_resort", "=", 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async claimKeyPackage(ref: DeviceRef): Promise<{ keyPackage: string; lastResort: boolean } | undefined> {
    // Take the oldest single-use package; if another claim deleted it first, try the next one.
    for (let attempt = 0; attempt < 5; attempt++) {
      const candidate = await this.db
        .selectFrom("key_packages")
        .select(["ref", "key_package"])
        .where("user_id", "=", ref.userId)
        .where("device_id", "=", ref.deviceId)
        .where("last_resort", "=", 0)
        .orderBy("created_at")
        .orderBy("ref")
        .limit(1)
        .executeTakeFirst();
      if (!candidate) break;
      const deleted = await this.db
        .deleteFrom("key_packages")
        .where("ref", "=", candidate.ref)
        .executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 1)
        return { keyPackage: candidate.key_package, lastResort: false };
    }
    const lastResort = await this.db
      .selectFrom("key_packages")
      .select("key_package")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("last_resort", "=", 1)
      .executeTakeFirst();
    return lastResort && { keyPackage: lastResort.key_package, lastResort: true };
  }

  async findGroup(roomId: RoomId): Promise<{ epoch: number; groupInfo: string } | undefined> {
    const row = await this.db
      .selectFrom("mls_groups")
      .select(["epoch", "group_info"])
      .where("room_id", "=", roomId)
      .executeTakeFirst();
    return row && { epoch: Number(row.epoch), groupInfo: row.group_info };
  }

  async groupDevices(roomId: RoomId): Promise<DeviceRef[]> {
    return groupDevicesIn(this.db, roomId);
  }

  async acceptCommit(input: CommitInput): Promise<CommitOutcome> {
    try {
      return await this.db.transaction().execute((trx) => this.#accept(trx, input));
    } catch (e) {
      // Two first Commits raced to create the group: the other one won.
      const conflict = toConflictError(e);
      if (conflict instanceof StorageConflictError && conflict.constraint === "mls_group") {
        const group = await this.findGroup(input.roomId);
        return { accepted: false, epoch: group?.epoch ?? 0 };
      }
      throw e;
    }
  }

  async #accept(trx: Transaction<Database>, input: CommitInput): Promise<CommitOutcome> {
    const group = await trx
      .selectFrom("mls_groups")
      .select("epoch")
      .where("room_id", "=", input.roomId)
      .executeTakeFirst();
    const newEpoch = input.epoch + 1;
    if (!group) {
      if (input.epoch !== 0) return { accepted: false, epoch: 0 };
      await trx
        .insertInto("mls_groups")
        .values({ room_id: input.roomId, epoch: newEpoch, group_info: input.groupInfo, updated_at: input.at })
        .execute();
    } else {
      const updated = await trx
        .updateTable("mls_groups")
        .set({ epoch: newEpoch, group_info: input.groupInfo, updated_at: input.at })
        .where("room_id", "=", input.roomId)
        .where("epoch", "=", input.epoch)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) return { accepted: false, epoch: Number(group.epoch) };
    }

    const before = await groupDevicesIn(trx, input.roomId);
    const removed = new Set(input.remove.map((d) => deviceKey(d)));
    for (const d of input.remove) {
      await trx
        .deleteFrom("mls_group_devices")
        .where("room_id", "=", input.roomId)
        .where("user_id", "=", d.userId)
        .where("device_id", "=", d.deviceId)
        .execute();
    }
    const joining = input.committerJoins ? [...input.add, input.from] : input.add;
    for (const d of joining) {
      await trx
        .insertInto("mls_group_devices")
        .values({ room_id: input.roomId, user_id: d.userId, device_id: d.deviceId })
        .onConflict((oc) => oc.columns(["room_id", "user_id", "device_id"]).doNothing())
        .execute();
    }

    const queued: { to: DeviceRef; entry: QueuedHandshake }[] = [];
    const enqueue = async (to: DeviceRef, kind: "commit" | "welcome", payload: string) => {
      const bumped = await trx
        .updateTable("devices")
        .set({ next_seq: sql<number>`next_seq + 1` })
        .where("user_id", "=", to.userId)
        .where("device_id", "=", to.deviceId)
        .returning("next_seq")
        .executeTakeFirst();
      if (!bumped) return; // the device was deleted meanwhile
      const entry: QueuedHandshake = {
        seq: Number(bumped.next_seq),
        roomId: input.roomId,
        kind,
        epoch: input.epoch,
        from: input.from,
        payload,
      };
      await trx
        .insertInto("handshake_queue")
        .values({
          user_id: to.userId,
          device_id: to.deviceId,
          seq: entry.seq,
          room_id: input.roomId,
          kind,
          epoch: input.epoch,
          from_user_id: input.from.userId,
          from_device_id: input.from.deviceId,
          payload,
          created_at: input.at,
        })
        .execute();
      queued.push({ to, entry });
    };
    // The Commit goes to every device that was in the group and stays in it, except the
    // committer's own (it merges on `mls.accepted`); removed devices get nothing more.
    for (const d of before) {
      if (sameDevice(d, input.from) || removed.has(deviceKey(d)) || !input.roomMembers.has(d.userId))
        continue;
      await enqueue(d, "commit", input.commit);
    }
    if (input.welcome !== null) {
      for (const d of input.add) await enqueue(d, "welcome", input.welcome);
    }
    return { accepted: true, epoch: newEpoch, queued };
  }

  async pendingHandshakes(ref: DeviceRef, limit: number): Promise<QueuedHandshake[]> {
    const rows = await this.db
      .selectFrom("handshake_queue")
      .selectAll()
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      roomId: r.room_id,
      kind: r.kind,
      epoch: Number(r.epoch),
      from: { userId: r.from_user_id, deviceId: r.from_device_id },
      payload: r.payload,
    }));
  }

  async ackHandshakes(ref: DeviceRef, upTo: number): Promise<number> {
    const res = await this.db
      .deleteFrom("handshake_queue")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("seq", "<=", upTo)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

async function groupDevicesIn(db: Kysely<Database>, roomId: RoomId): Promise<DeviceRef[]> {
  const rows = await db
    .selectFrom("mls_group_devices")
    .select(["user_id", "device_id"])
    .where("room_id", "=", roomId)
    .orderBy("user_id")
    .orderBy("device_id")
    .execute();
  return rows.map((r) => ({ userId: r.user_id, deviceId: r.device_id }));
}

function toDevice(row: {
  user_id: UserId;
  device_id: string;
  signature_key: string;
  created_at: number;
  certificate: string | null;
}): DeviceRecord {
  return {
    userId: row.user_id,
    deviceId: row.device_id,
    signatureKey: row.signature_key,
    createdAt: Number(row.created_at),
    certificate: row.certificate,
  };
}
