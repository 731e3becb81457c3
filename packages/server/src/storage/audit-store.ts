import type { AuditDetails, AuditEntryView, AuditKind } from "@parley/protocol";
import type { Kysely } from "kysely";
import type { Database } from "./database.js";

/** One audit entry as stored (AUDIT-1). */
export type AuditEntry = AuditEntryView;

/** What a page of the audit log holds: filters are ANDed; `user` matches actor or subject. */
export interface AuditFilter {
  /** Inclusive, milliseconds since the epoch. */
  from?: number;
  /** Exclusive. */
  to?: number;
  kind?: AuditKind;
  userId?: string;
  ip?: string;
  /** Entries older than this id (the last id of the previous page). */
  before?: string;
  limit: number;
}

/**
 * The persisted audit log (AUDIT-1). Append-only: the only removal is the retention sweep.
 * Every server of a cluster writes into the same table when they share PostgreSQL.
 */
export interface AuditStore {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  list(filter: AuditFilter): Promise<AuditEntry[]>;
  /** Deletes the entries older than `before`; returns how many. */
  purgeBefore(before: number): Promise<number>;
}

export class KyselyAuditStore implements AuditStore {
  constructor(private readonly db: Kysely<Database>) {}

  async append(e: AuditEntry): Promise<void> {
    await this.db
      .insertInto("audit_log")
      .values({
        id: e.id,
        at: e.at,
        kind: e.kind,
        node: e.node,
        actor_id: e.actorId,
        user_id: e.userId,
        username: e.username,
        ip: e.ip,
        user_agent: e.userAgent,
        details: JSON.stringify(e.details),
      })
      .execute();
  }

  async list(f: AuditFilter): Promise<AuditEntry[]> {
    let q = this.db.selectFrom("audit_log").selectAll();
    if (f.from !== undefined) q = q.where("at", ">=", f.from);
    if (f.to !== undefined) q = q.where("at", "<", f.to);
    if (f.kind !== undefined) q = q.where("kind", "=", f.kind);
    if (f.ip !== undefined) q = q.where("ip", "=", f.ip);
    if (f.before !== undefined) q = q.where("id", "<", f.before);
    const userId = f.userId;
    if (userId !== undefined)
      q = q.where((eb) => eb.or([eb("user_id", "=", userId), eb("actor_id", "=", userId)]));
    const rows = await q.orderBy("id", "desc").limit(f.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      at: Number(r.at),
      kind: r.kind as AuditKind,
      node: r.node,
      actorId: r.actor_id,
      userId: r.user_id,
      username: r.username,
      ip: r.ip,
      userAgent: r.user_agent,
      details: parseDetails(r.details),
    }));
  }

  async purgeBefore(before: number): Promise<number> {
    const result = await this.db.deleteFrom("audit_log").where("at", "<", before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function parseDetails(text: string): AuditDetails {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as AuditDetails) : {};
  } catch {
    return {};
  }
}
