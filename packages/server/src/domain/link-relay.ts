import type { Bus } from "../bus/bus.js";
import type { AuthContext } from "./accounts.js";
import { encodeFrame } from "./encode.js";
import { ParleyError } from "./errors.js";
import type { UserId } from "./ids.js";
import { isLimiterRejection, type Limiter, type LimiterFactory } from "./limiters.js";

export interface LinkRelayOptions {
  bus: Bus;
  limiters: LimiterFactory;
  /** True when the device is registered (may vouch for a new one). */
  isRegistered(userId: UserId, deviceId: string): Promise<boolean>;
  /** How long a link waits. Default 300000 ms (5 minutes). */
  ttlMs?: number;
  /** Open links per account. Default 3. */
  maxPerAccount?: number;
  /** Open links on this server. Default 10000. */
  maxTotal?: number;
  /** link.join attempts per account per minute (a mistyped code counts). Default 10. */
  joinsPerMinute?: number;
  now?: () => number;
}

interface Link {
  readonly userId: UserId;
  readonly newDevice: string;
  readonly newKey: string;
  readonly expiresAt: number;
  joiner?: { readonly deviceId: string };
}

/**
 * The relay for device linking (IDENT-3, docs/SECURITY.md "Linking a device"): it pairs a new
 * device with a registered device of the same account and passes two public keys and one
 * sealed payload between them. It never sees a secret; the two devices compare a SAS to catch
 * a relay that swaps keys. Links live in this server's memory for a few minutes, bounded per
 * account and in total; joining is rate limited per account so codes cannot be tried at scale
 * (and only the account's own devices may join its links at all).
 */
export class LinkRelay {
  readonly #links = new Map<string, Link>();
  readonly #joins: Limiter;
  readonly #now: () => number;
  readonly #ttlMs: number;

  constructor(private readonly o: LinkRelayOptions) {
    this.#now = o.now ?? Date.now;
    this.#ttlMs = o.ttlMs ?? 300_000;
    this.#joins = o.limiters({ keyPrefix: "link_join", points: o.joinsPerMinute ?? 10, duration: 60 });
  }

  open(auth: AuthContext, deviceId: string | null, linkId: string, publicKey: string): { expiresAt: number } {
    if (deviceId === null) throw new ParleyError("device_required");
    this.#sweep();
    if (this.#links.has(linkId)) throw new ParleyError("link_in_use");
    let mine = 0;
    for (const l of this.#links.values()) if (l.userId === auth.userId) mine++;
    if (mine >= (this.o.maxPerAccount ?? 3) || this.#links.size >= (this.o.maxTotal ?? 10_000))
      throw new ParleyError("too_many_links");
    const expiresAt = this.#now() + this.#ttlMs;
    this.#links.set(linkId, { userId: auth.userId, newDevice: deviceId, newKey: publicKey, expiresAt });
    return { expiresAt };
  }

  async join(
    auth: AuthContext,
    deviceId: string | null,
    linkId: string,
    publicKey: string,
  ): Promise<{ publicKey: string; deviceId: string }> {
    try {
      await this.#joins.consume(auth.userId);
    } catch (e) {
      if (isLimiterRejection(e)) throw new ParleyError("rate_limited", { retryAfterMs: e.msBeforeNext });
      throw e;
    }
    if (deviceId === null || !(await this.o.isRegistered(auth.userId, deviceId)))
      throw new ParleyError("device_required");
    const link = this.#find(auth, linkId);
    if (link.joiner !== undefined || link.newDevice === deviceId) throw new ParleyError("link_in_use");
    link.joiner = { deviceId };
    this.o.bus.deliverToDevice(
      auth.userId,
      link.newDevice,
      encodeFrame({ type: "link.joined", linkId, publicKey, deviceId }),
    );
    return { publicKey: link.newKey, deviceId: link.newDevice };
  }

  send(auth: AuthContext, deviceId: string | null, linkId: string, payload: string): void {
    const link = this.#find(auth, linkId);
    if (link.joiner === undefined || link.joiner.deviceId !== deviceId) throw new ParleyError("link_in_use");
    this.#links.delete(linkId);
    this.o.bus.deliverToDevice(
      auth.userId,
      link.newDevice,
      encodeFrame({ type: "link.payload", linkId, payload }),
    );
  }

  cancel(auth: AuthContext, deviceId: string | null, linkId: string): void {
    const link = this.#find(auth, linkId);
    const other = deviceId === link.newDevice ? link.joiner?.deviceId : link.newDevice;
    if (deviceId !== link.newDevice && deviceId !== link.joiner?.deviceId)
      throw new ParleyError("link_in_use");
    this.#links.delete(linkId);
    if (other !== undefined)
      this.o.bus.deliverToDevice(auth.userId, other, encodeFrame({ type: "link.closed", linkId }));
  }

  /** An open link of this account; anything else (unknown, expired, another account's) is `link_not_found`. */
  #find(auth: AuthContext, linkId: string): Link {
    const link = this.#links.get(linkId);
    if (link === undefined || link.userId !== auth.userId || link.expiresAt <= this.#now()) {
      if (link !== undefined && link.expiresAt <= this.#now()) this.#links.delete(linkId);
      throw new ParleyError("link_not_found");
    }
    return link;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, l] of this.#links) if (l.expiresAt <= now) this.#links.delete(id);
  }
}
