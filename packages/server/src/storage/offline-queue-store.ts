import { type Kysely, sql } from "kysely";
import type { RoomId, UserId } from "../domain/ids.js";
import type { Database } from "./database.js";
import type { DeviceRef } from "./delivery-store.js";

/** A room message as the relay stamped it; `payload` is the client's (base64) ciphertext. */
export interface OfflineMessage {
  roomId: RoomId;
  messageId: string;
  from: { userId: UserId; username: string };
  ts: number;
  payload: string;
}

export interface QueuedMessage extends OfflineMessage {
  /** The entry's place in its device's queue: increasing, never reused. */
  seq: number;
  expiresAt: number;
}

export interface EnqueueInput {
  to: readonly DeviceRef[];
  message: OfflineMessage;
  expiresAt: number;
  /** Entries a device may hold; beyond it its oldest are dropped and counted. */
  maxPerDevice: number;
}

/**
 * The opt-in offline ciphertext queue (RELAY-5..7): room messages kept for devices that were
 * offline, until acknowledged or expired. Only ciphertext and the metadata the relay already
 * stamps; the server never has plaintext to store.
 */
export interface OfflineQueueStore {
  /** Queues one message for each device in one transaction; returns the entries made. */
  enqueue(input: EnqueueInput): Promise<number>;
  /** A device's entries after `afterSeq` that have not expired at `now`, oldest first. Expired ones are deleted. */
  pending(ref: DeviceRef, afterSeq: number, limit: number, now: number): Promise<QueuedMessage[]>;
  /** How many entries the cap dropped for the device since the last call; resets the count. */
  takeDropped(ref: DeviceRef): Promise<number>;
  /** Deletes the device's entries up to and including `upTo`; returns how many. */
  ack(ref: DeviceRef, upTo: number): Promise<number>;
  /** Deletes the entries of one room for every device of one user (they left or were removed). */
  dropRoom(userId: UserId, roomId: RoomId): Promise<number>;
  /** Deletes every entry that expired at or before `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
  /** Entries held for the device (expired or not). */
  count(ref: DeviceRef): Promise<number>;
}

type Encoding = Database["offline_queue"]["payload_encoding"];

/**
 * The ciphertext goes in as bytes when the client's string is canonical base64 or base64url
 * (what every Parley client sends), so it comes back byte for byte; any other string that the
 * frame schema let through is kept as its UTF-8 bytes, still exactly what was sent.
 */
function toBytes(payload: string): { bytes: Buffer; encoding: Encoding } {
  const std = Buffer.from(payload, "base64");
  if (std.toString("base64") === payload) return { bytes: std, encoding: "base64" };
  const url = Buffer.from(payload, "base64url");
  if (url.toString("base64url") === payload) return { bytes: url, encoding: "base64url" };
  return { bytes: Buffer.from(payload, "utf8"), encoding: "text" };
}

function fromBytes(bytes: Uint8Array, encoding: Encoding): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding === "text" ? b.toString("utf8") : b.toString(encoding);
}

export class KyselyOfflineQueueStore implements OfflineQueueStore {
  constructor(private readonly db: Kysely<Database>) {}

  async enqueue(input: EnqueueInput): Promise<number> {
    if (input.to.length === 0) return 0;
    if (!Number.isInteger(input.maxPerDevice) || input.maxPerDevice < 1) {
      throw new RangeError("maxPerDevice must be a positive integer");
    }
    const { bytes, encoding } = toBytes(input.message.payload);
    const m = input.message;
    return this.db.transaction().execute(async (trx) => {
      let made = 0;
      for (const to of input.to) {
        const cursor = await trx
          .insertInto("offline_queue_cursors")
          .values({ user_id: to.userId, device_id: to.deviceId, next_seq: 1, dropped: 0 })
          .onConflict((oc) =>
            oc
              .columns(["user_id", "device_id"])
              .doUpdateSet({ next_seq: sql<number>`offline_queue_cursors.next_seq + 1` }),
          )
          .returning("next_seq")
          .executeTakeFirstOrThrow();
        const seq = Number(cursor.next_seq);
        await trx
          .insertInto("offline_queue")
          .values({
            user_id: to.userId,
            device_id: to.deviceId,
            seq,
            room_id: m.roomId,
            message_id: m.messageId,
            from_user_id: m.from.userId,
            from_username: m.from.username,
            ts: m.ts,
            payload: bytes,
            payload_encoding: encoding,
            expires_at: input.expiresAt,
          })
          .execute();
        made++;
        // The cap: everything older than the newest `maxPerDevice` entries goes, and is counted.
        const cutoff = await trx
          .selectFrom("offline_queue")
          .select("seq")
          .where("user_id", "=", to.userId)
          .where("device_id", "=", to.deviceId)
          .orderBy("seq", "desc")
          .offset(input.maxPerDevice)
          .limit(1)
          .executeTakeFirst();
        if (cutoff === undefined) continue;
        const dropped = await trx
          .deleteFrom("offline_queue")
          .where("user_id", "=", to.userId)
          .where("device_id", "=", to.deviceId)
          .where("seq", "<=", Number(cutoff.seq))
          .executeTakeFirst();
        const n = Number(dropped.numDeletedRows);
        if (n > 0) {
          await trx
            .updateTable("offline_queue_cursors")
            .set({ dropped: sql<number>`dropped + ${n}` })
            .where("user_id", "=", to.userId)
            .where("device_id", "=", to.deviceId)
            .execute();
        }
      }
      return made;
    });
  }

  async pending(ref: DeviceRef, afterSeq: number, limit: number, now: number): Promise<QueuedMessage[]> {
    await this.db
      .deleteFrom("offline_queue")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("expires_at", "<=", now)
      .execute();
    const rows = await this.db
      .selectFrom("offline_queue")
      .selectAll()
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      roomId: r.room_id,
      messageId: r.message_id,
      from: { userId: r.from_user_id, username: r.from_username },
      ts: Number(r.ts),
      payload: fromBytes(r.payload, r.payload_encoding),
      expiresAt: Number(r.expires_at),
    }));
  }

  async takeDropped(ref: DeviceRef): Promise<number> {
    const row = await this.db
      .selectFrom("offline_queue_cursors")
      .select("dropped")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .executeTakeFirst();
    const dropped = Number(row?.dropped ?? 0);
    if (dropped === 0) return 0;
    // Subtract what was read, so drops made meanwhile are reported next time rather than lost.
    await this.db
      .updateTable("offline_queue_cursors")
      .set({ dropped: sql<number>`dropped - ${dropped}` })
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .execute();
    return dropped;
  }

  async ack(ref: DeviceRef, upTo: number): Promise<number> {
    const res = await this.db
      .deleteFrom("offline_queue")
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .where("seq", "<=", upTo)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async dropRoom(userId: UserId, roomId: RoomId): Promise<number> {
    const res = await this.db
      .deleteFrom("offline_queue")
      .where("user_id", "=", userId)
      .where("room_id", "=", roomId)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async purgeExpired(now: number): Promise<number> {
    const res = await this.db.deleteFrom("offline_queue").where("expires_at", "<=", now).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async count(ref: DeviceRef): Promise<number> {
    const row = await this.db
      .selectFrom("offline_queue")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("user_id", "=", ref.userId)
      .where("device_id", "=", ref.deviceId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
