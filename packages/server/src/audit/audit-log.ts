import { randomBytes } from "node:crypto";
import type { AuditDetails, AuditKind } from "@parley/protocol";
import type { Logger } from "pino";
import type { AuditEntry, AuditFilter, AuditStore } from "../storage/audit-store.js";

/** Who did what to whom, from where. Never a message, a token, a password or a code. */
export interface AuditEvent {
  kind: AuditKind;
  /** Who did it: an admin, or the person themselves. */
  actorId?: string | null;
  /** The account it happened to. */
  userId?: string | null;
  username?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: AuditDetails;
}

export interface AuditLogOptions {
  store: AuditStore;
  /** Each entry is also a log line of the `audit` component, as before the log was kept. */
  log: Logger;
  /** PARLEY_NODE_ID: which server of a cluster wrote the entry. */
  nodeId: string;
  /** PARLEY_AUDIT_RETENTION_DAYS. */
  retentionDays: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Kinds logged at warn level: someone is guessing passwords. */
const WARNINGS: ReadonlySet<AuditKind> = new Set(["ip_blocked"]);
/** A user agent is kept to this many characters, without control characters. */
export const USER_AGENT_MAX = 200;

/** The client's own description of itself, made safe to store and show. */
export function cleanUserAgent(ua: string | undefined): string | null {
  if (ua === undefined) return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point.
  const clean = ua.replace(/[\u0000-\u001f\u007f-\u009f]/g, "").slice(0, USER_AGENT_MAX);
  return clean === "" ? null : clean;
}

/**
 * The persisted audit log (AUDIT-1). `record` never throws and never delays the request that
 * caused the event: the write runs in the background, and a failed one is a log line (the
 * event is on stdout either way). Ids start with the time in milliseconds and a per-process
 * sequence, so entries of one server stay in the order they happened.
 */
export class AuditLog {
  readonly #o: Required<AuditLogOptions>;
  readonly #pending = new Set<Promise<void>>();
  #lastAt = 0;
  #seq = 0;

  constructor(options: AuditLogOptions) {
    if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1)
      throw new RangeError("retentionDays must be an integer >= 1");
    this.#o = { now: Date.now, ...options };
  }

  record(event: AuditEvent): void {
    const at = this.#o.now();
    const entry = entryOf(event, this.#nextId(at), at, this.#o.nodeId);
    const { id: _id, node: _node, ...line } = entry;
    const level = WARNINGS.has(entry.kind) ? "warn" : "info";
    this.#o.log[level]({ event: entry.kind, ...line }, entry.kind);
    const write = this.#o.store.append(entry).catch((err: unknown) => {
      this.#o.log.error(
        { err, event: "audit_write_failed", kind: entry.kind },
        "could not store an audit entry",
      );
    });
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  /** Resolves once every entry recorded so far is written (or its failure logged). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  list(filter: AuditFilter): Promise<AuditEntry[]> {
    return this.#o.store.list(filter);
  }

  /** Deletes the entries older than the retention; returns how many. */
  sweep(): Promise<number> {
    return this.#o.store.purgeBefore(this.#o.now() - this.#o.retentionDays * DAY_MS);
  }

  #nextId(at: number): string {
    if (at === this.#lastAt) this.#seq = (this.#seq + 1) & 0xffff;
    else {
      this.#lastAt = at;
      this.#seq = 0;
    }
    return auditId(at, this.#seq);
  }
}

function auditId(at: number, seq: number): string {
  const time = Math.max(0, Math.floor(at)).toString(16).padStart(12, "0").slice(-12);
  return `${time}${seq.toString(16).padStart(4, "0")}${randomBytes(4).toString("hex")}`;
}

/** An entry written by a one-off command on the server's machine (node `console`), not a server. */
export function consoleAuditEntry(event: AuditEvent, at = Date.now()): AuditEntry {
  return entryOf(event, auditId(at, 0), at, "console");
}

function entryOf(event: AuditEvent, id: string, at: number, node: string): AuditEntry {
  return {
    id,
    at,
    kind: event.kind,
    node,
    actorId: event.actorId ?? null,
    userId: event.userId ?? null,
    username: event.username ?? null,
    ip: event.ip ?? null,
    userAgent: event.userAgent ?? null,
    details: event.details ?? {},
  };
}
