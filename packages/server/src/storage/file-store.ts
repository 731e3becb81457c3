import type { Kysely } from "kysely";
import type { RoomId, UserId } from "../domain/ids.js";
import type { Database } from "./database.js";

/** A file the blob store holds (or held: `deleted`), as the server knows it: never a name or key. */
export interface FileRecord {
  readonly id: string;
  readonly roomId: RoomId;
  readonly ownerId: UserId;
  /** The declared MIME type's essence. */
  readonly type: string;
  /** Plaintext bytes, as declared. */
  readonly size: number;
  /** Ciphertext bytes expected. */
  readonly length: number;
  /** Ciphertext bytes stored so far. */
  readonly received: number;
  readonly once: boolean;
  readonly state: "uploading" | "complete" | "deleted";
  readonly createdAt: number;
  readonly expiresAt: number;
}

export type NewFile = Omit<FileRecord, "received" | "state">;

/** The files' records (what the rules need); the bytes live in a BlobStore. */
export interface FileStore {
  create(file: NewFile): Promise<void>;
  get(id: string): Promise<FileRecord | undefined>;
  /**
   * Moves `received` from `from` to `to` (and the state to `complete` when told) in one
   * conditional statement; false when another upload of the same file moved it meanwhile.
   */
  advance(id: string, from: number, to: number, complete: boolean): Promise<boolean>;
  /** Marks a file deleted (its bytes are gone); false when it already was. */
  markDeleted(id: string): Promise<boolean>;
  /** Ciphertext bytes an account holds in files that are not deleted or expired at `now`. */
  usage(ownerId: UserId, now: number): Promise<number>;
  /** ACCT-3: the ids of the files `ownerId` uploaded that are not deleted yet. */
  ownedBy(ownerId: UserId): Promise<string[]>;
  /** Files not yet deleted whose time ran out at `now`, oldest first. */
  expired(now: number, limit: number): Promise<FileRecord[]>;
  /** Forgets deleted files that expired before `before`; returns how many. */
  purgeDeleted(before: number): Promise<number>;
}

type Row = Database["files"];

function toRecord(r: Row): FileRecord {
  return {
    id: r.id,
    roomId: r.room_id,
    ownerId: r.owner_id,
    type: r.type,
    size: Number(r.size),
    length: Number(r.length),
    received: Number(r.received),
    once: r.once === 1,
    state: r.state,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}

export class KyselyFileStore implements FileStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(f: NewFile): Promise<void> {
    await this.db
      .insertInto("files")
      .values({
        id: f.id,
        room_id: f.roomId,
        owner_id: f.ownerId,
        type: f.type,
        size: f.size,
        length: f.length,
        received: 0,
        once: f.once ? 1 : 0,
        state: f.length === 0 ? "complete" : "uploading",
        created_at: f.createdAt,
        expires_at: f.expiresAt,
      })
      .execute();
  }

  async get(id: string): Promise<FileRecord | undefined> {
    const row = await this.db.selectFrom("files").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toRecord(row);
  }

  async advance(id: string, from: number, to: number, complete: boolean): Promise<boolean> {
    const r = await this.db
      .updateTable("files")
      .set({ received: to, state: complete ? "complete" : "uploading" })
      .where("id", "=", id)
      .where("received", "=", from)
      .where("state", "=", "uploading")
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async markDeleted(id: string): Promise<boolean> {
    const r = await this.db
      .updateTable("files")
      .set({ state: "deleted" })
      .where("id", "=", id)
      .where("state", "!=", "deleted")
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async ownedBy(ownerId: UserId): Promise<string[]> {
    const rows = await this.db
      .selectFrom("files")
      .select("id")
      .where("owner_id", "=", ownerId)
      .where("state", "!=", "deleted")
      .execute();
    return rows.map((r) => r.id);
  }

  async usage(ownerId: UserId, now: number): Promise<number> {
    const row = await this.db
      .selectFrom("files")
      .select((eb) => eb.fn.sum<number | string | null>("length").as("total"))
      .where("owner_id", "=", ownerId)
      .where("state", "!=", "deleted")
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  async expired(now: number, limit: number): Promise<FileRecord[]> {
    const rows = await this.db
      .selectFrom("files")
      .selectAll()
      .where("state", "!=", "deleted")
      .where("expires_at", "<=", now)
      .orderBy("expires_at")
      .limit(limit)
      .execute();
    return rows.map(toRecord);
  }

  async purgeDeleted(before: number): Promise<number> {
    const r = await this.db
      .deleteFrom("files")
      .where("state", "=", "deleted")
      .where("expires_at", "<", before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
