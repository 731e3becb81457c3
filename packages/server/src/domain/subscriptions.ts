import type { Bus } from "../bus/bus.js";
import type { Storage } from "../storage/storage.js";
import type { AuthContext } from "./accounts.js";
import { ParleyError } from "./errors.js";
import type { UserId } from "./ids.js";

/**
 * Following a user (the original design's `/subscribe alice`): a follower receives that
 * user's posts in public rooms even without being in the room. The relay asks for a sender's
 * followers on every public post, so they are cached per sender and dropped on change; every
 * server drops them when the bus announces `subscriptions.changed`.
 */
export class SubscriptionService {
  readonly #followers = new Map<UserId, readonly UserId[]>();

  constructor(
    private readonly storage: Storage,
    private readonly bus: Pick<Bus, "publishControl">,
  ) {}

  async subscribe(auth: AuthContext, targetId: UserId): Promise<void> {
    if (targetId === auth.userId) throw new ParleyError("invalid_target");
    const target = await this.storage.findUserById(targetId);
    if (!target) throw new ParleyError("user_not_found");
    await this.storage.addSubscription(auth.userId, targetId, Date.now());
    this.#changed(targetId);
  }

  async unsubscribe(auth: AuthContext, targetId: UserId): Promise<void> {
    await this.storage.removeSubscription(auth.userId, targetId);
    this.#changed(targetId);
  }

  async list(auth: AuthContext): Promise<{ id: string; username: string }[]> {
    const ids = await this.storage.listSubscriptions(auth.userId);
    const out: { id: string; username: string }[] = [];
    for (const id of ids) {
      const u = await this.storage.findUserById(id);
      if (u) out.push({ id: u.id, username: u.username });
    }
    return out;
  }

  /** Synchronous when cached (the relay's hot path). */
  followersOf(userId: UserId): readonly UserId[] | Promise<readonly UserId[]> {
    return this.#followers.get(userId) ?? this.#load(userId);
  }

  invalidate(userId: UserId): void {
    this.#followers.delete(userId);
  }

  /** Here at once, and on every server through the bus (which hands it to this one too). */
  #changed(userId: UserId): void {
    this.invalidate(userId);
    this.bus.publishControl({ type: "subscriptions.changed", userId });
  }

  async #load(userId: UserId): Promise<readonly UserId[]> {
    const list = await this.storage.listSubscribers(userId);
    if (this.#followers.size > 10_000) this.#followers.clear();
    this.#followers.set(userId, list);
    return list;
  }
}
