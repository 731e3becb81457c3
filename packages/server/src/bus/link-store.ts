// Open device links (IDENT-3), shared by every server on the bus: in memory for one server, in Redis for several.
import type { Redis } from "ioredis";
import { asUserId, type UserId } from "../domain/ids.js";

/** One open link: the new device that opened it and, once joined, the device that joined. */
export interface LinkRecord {
  readonly userId: UserId;
  readonly newDevice: string;
  readonly newKey: string;
  readonly expiresAt: number;
  readonly joiner?: string;
}

export interface LinkLimits {
  /** Open links per account. */
  readonly maxPerAccount: number;
  /** Open links in all (the in-memory store; Redis bounds them per account and by expiry). */
  readonly maxTotal: number;
}

/**
 * Where the link relay keeps its links, so that the new device and the device that joins may
 * reach different servers: every record expires by itself at `expiresAt`.
 */
export interface LinkStore {
  /** Stores a new link: `taken` when the id is in use, `too_many` beyond the limits. */
  open(
    linkId: string,
    link: LinkRecord,
    limits: LinkLimits,
    now: number,
  ): Promise<"ok" | "taken" | "too_many">;
  /** The link, if open and not expired. */
  find(linkId: string, now: number): Promise<LinkRecord | undefined>;
  /** Records the joining device unless one joined first; false then. */
  join(linkId: string, deviceId: string, now: number): Promise<boolean>;
  /** Ends the link (sent, cancelled). Ending an ended link is no error. */
  end(linkId: string, link: LinkRecord): Promise<void>;
}

/** The links of one server, in its memory. */
export class MemoryLinkStore implements LinkStore {
  readonly #links = new Map<string, LinkRecord>();

  async open(linkId: string, link: LinkRecord, limits: LinkLimits, now: number) {
    for (const [id, l] of this.#links) if (l.expiresAt <= now) this.#links.delete(id);
    if (this.#links.has(linkId)) return "taken" as const;
    let mine = 0;
    for (const l of this.#links.values()) if (l.userId === link.userId) mine++;
    if (mine >= limits.maxPerAccount || this.#links.size >= limits.maxTotal) return "too_many" as const;
    this.#links.set(linkId, link);
    return "ok" as const;
  }

  async find(linkId: string, now: number): Promise<LinkRecord | undefined> {
    const link = this.#links.get(linkId);
    if (link !== undefined && link.expiresAt <= now) {
      this.#links.delete(linkId);
      return undefined;
    }
    return link;
  }

  async join(linkId: string, deviceId: string, now: number): Promise<boolean> {
    const link = await this.find(linkId, now);
    if (link === undefined || link.joiner !== undefined) return false;
    this.#links.set(linkId, { ...link, joiner: deviceId });
    return true;
  }

  async end(linkId: string): Promise<void> {
    this.#links.delete(linkId);
  }
}

/**
 * The links of a cluster, in Redis: `<prefix>link:<id>` holds the link (JSON) and
 * `<prefix>link:<id>:joiner` the device that joined (SET NX: one joiner wins), both with the
 * link's expiry; `<prefix>links:<userId>` counts an account's open links (a sorted set by
 * expiry). Only public keys and device ids are kept, never a secret.
 */
export class RedisLinkStore implements LinkStore {
  constructor(
    private readonly redis: Pick<Redis, "set" | "mget" | "del" | "zremrangebyscore" | "zcard" | "multi">,
    private readonly prefix: string,
  ) {}

  #key(linkId: string): string {
    return `${this.prefix}link:${linkId}`;
  }

  #account(userId: UserId): string {
    return `${this.prefix}links:${userId}`;
  }

  async open(linkId: string, link: LinkRecord, limits: LinkLimits, now: number) {
    const account = this.#account(link.userId);
    const ttl = Math.max(1, link.expiresAt - now);
    await this.redis.zremrangebyscore(account, "-inf", now);
    if ((await this.redis.zcard(account)) >= limits.maxPerAccount) return "too_many" as const;
    const stored = { u: link.userId, d: link.newDevice, k: link.newKey, e: link.expiresAt };
    if ((await this.redis.set(this.#key(linkId), JSON.stringify(stored), "PX", ttl, "NX")) !== "OK")
      return "taken" as const;
    await this.redis.multi().zadd(account, link.expiresAt, linkId).pexpire(account, ttl).exec();
    return "ok" as const;
  }

  async find(linkId: string, now: number): Promise<LinkRecord | undefined> {
    const [raw, joiner] = await this.redis.mget(this.#key(linkId), `${this.#key(linkId)}:joiner`);
    const link = raw === null || raw === undefined ? undefined : parseLink(raw);
    if (link === undefined || link.expiresAt <= now) return undefined;
    return joiner === null || joiner === undefined ? link : { ...link, joiner };
  }

  async join(linkId: string, deviceId: string, now: number): Promise<boolean> {
    const link = await this.find(linkId, now);
    if (link === undefined) return false;
    const ttl = Math.max(1, link.expiresAt - now);
    return (await this.redis.set(`${this.#key(linkId)}:joiner`, deviceId, "PX", ttl, "NX")) === "OK";
  }

  async end(linkId: string, link: LinkRecord): Promise<void> {
    await this.redis.del(this.#key(linkId), `${this.#key(linkId)}:joiner`);
    await this.redis.multi().zrem(this.#account(link.userId), linkId).exec();
  }
}

/** Redis is shared infrastructure: what it returns is checked like input. */
function parseLink(raw: string): LinkRecord | undefined {
  try {
    const v = JSON.parse(raw) as { u?: unknown; d?: unknown; k?: unknown; e?: unknown };
    if (typeof v.u !== "string" || typeof v.d !== "string" || typeof v.k !== "string") return undefined;
    if (typeof v.e !== "number" || !Number.isSafeInteger(v.e)) return undefined;
    return { userId: asUserId(v.u), newDevice: v.d, newKey: v.k, expiresAt: v.e };
  } catch {
    return undefined;
  }
}
