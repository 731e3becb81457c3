import type { Bus } from "../bus/bus.js";
import type { LinkLimits, LinkRecord, LinkStore } from "../bus/link-store.js";
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
  /** Open links in all (per server with the in-memory bus). Default 10000. */
  maxTotal?: number;
  /** link.join attempts per account per minute (a mistyped code counts). Default 10. */
  joinsPerMinute?: number;
  now?: () => number;
}

/**
 * The relay for device linking (IDENT-3, docs/SECURITY.md "Linking a device"): it pairs a new
 * device with a registered device of the same account and passes two public keys and one
 * sealed payload between them. It never sees a secret; the two devices compare a SAS to catch
 * a relay that swaps keys. Links live a few minutes in the bus's link store (shared by every
 * server on the bus, so the two devices may reach different ones), bounded per account and in
 * total; joining is rate limited per account so codes cannot be tried at scale (and only the
 * account's own devices may join its links at all). Frames go to the devices through the bus.
 */
export class LinkRelay {
  readonly #links: LinkStore;
  readonly #joins: Limiter;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #limits: LinkLimits;

  constructor(private readonly o: LinkRelayOptions) {
    this.#links = o.bus.links;
    this.#now = o.now ?? Date.now;
    this.#ttlMs = o.ttlMs ?? 300_000;
    this.#limits = { maxPerAccount: o.maxPerAccount ?? 3, maxTotal: o.maxTotal ?? 10_000 };
    this.#joins = o.limiters({ keyPrefix: "link_join", points: o.joinsPerMinute ?? 10, duration: 60 });
  }

  async open(
    auth: AuthContext,
    deviceId: string | null,
    linkId: string,
    publicKey: string,
  ): Promise<{ expiresAt: number }> {
    if (deviceId === null) throw new ParleyError("device_required");
    const now = this.#now();
    const expiresAt = now + this.#ttlMs;
    const link = { userId: auth.userId, newDevice: deviceId, newKey: publicKey, expiresAt };
    const opened = await this.#links.open(linkId, link, this.#limits, now);
    if (opened === "taken") throw new ParleyError("link_in_use");
    if (opened === "too_many") throw new ParleyError("too_many_links");
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
    const link = await this.#find(auth, linkId);
    if (link.joiner !== undefined || link.newDevice === deviceId) throw new ParleyError("link_in_use");
    if (!(await this.#links.join(linkId, deviceId, this.#now()))) throw new ParleyError("link_in_use");
    this.o.bus.deliverToDevice(
      auth.userId,
      link.newDevice,
      encodeFrame({ type: "link.joined", linkId, publicKey, deviceId }),
    );
    return { publicKey: link.newKey, deviceId: link.newDevice };
  }

  async send(auth: AuthContext, deviceId: string | null, linkId: string, payload: string): Promise<void> {
    const link = await this.#find(auth, linkId);
    if (link.joiner === undefined || link.joiner !== deviceId) throw new ParleyError("link_in_use");
    await this.#links.end(linkId, link);
    this.o.bus.deliverToDevice(
      auth.userId,
      link.newDevice,
      encodeFrame({ type: "link.payload", linkId, payload }),
    );
  }

  async cancel(auth: AuthContext, deviceId: string | null, linkId: string): Promise<void> {
    const link = await this.#find(auth, linkId);
    const other = deviceId === link.newDevice ? link.joiner : link.newDevice;
    if (deviceId !== link.newDevice && deviceId !== link.joiner) throw new ParleyError("link_in_use");
    await this.#links.end(linkId, link);
    if (other !== undefined)
      this.o.bus.deliverToDevice(auth.userId, other, encodeFrame({ type: "link.closed", linkId }));
  }

  /** An open link of this account; anything else (unknown, expired, another account's) is `link_not_found`. */
  async #find(auth: AuthContext, linkId: string): Promise<LinkRecord> {
    const link = await this.#links.find(linkId, this.#now());
    if (link === undefined || link.userId !== auth.userId) throw new ParleyError("link_not_found");
    return link;
  }
}
