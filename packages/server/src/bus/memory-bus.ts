import { deviceKey } from "@parley/protocol";
import type { UserId } from "../domain/ids.js";
import type { Bus, BusSink, ControlEvent } from "./bus.js";
import { MemoryLinkStore } from "./link-store.js";

/** The bus of a single server: everything is local, so every call goes straight to the sink. */
export class MemoryBus implements Bus {
  readonly links = new MemoryLinkStore();
  #sink: BusSink | undefined;
  readonly #connections = new Map<UserId, Set<string>>();

  attach(sink: BusSink): void {
    this.#sink = sink;
  }

  deliver(userIds: readonly UserId[], frame: Buffer, exceptConnection?: string): void {
    this.#sink?.deliverLocal(userIds, frame, exceptConnection);
  }

  deliverToDevice(userId: UserId, deviceId: string, frame: Buffer): void {
    this.#sink?.deliverLocalDevice(userId, deviceId, frame);
  }

  async connectionOpened(
    userId: UserId,
    connectionId: string,
  ): Promise<{ count: number; cameOnline: boolean }> {
    let set = this.#connections.get(userId);
    const cameOnline = set === undefined || set.size === 0;
    if (!set) {
      set = new Set();
      this.#connections.set(userId, set);
    }
    set.add(connectionId);
    return { count: set.size, cameOnline };
  }

  async connectionClosed(userId: UserId, connectionId: string): Promise<{ wentOffline: boolean }> {
    const set = this.#connections.get(userId);
    if (!set?.delete(connectionId)) return { wentOffline: false };
    if (set.size > 0) return { wentOffline: false };
    this.#connections.delete(userId);
    return { wentOffline: true };
  }

  async onlineUserIds(): Promise<ReadonlySet<UserId>> {
    return new Set(this.#connections.keys());
  }

  async connectedDevices(
    devices: readonly { userId: UserId; deviceId: string }[],
  ): Promise<ReadonlySet<string>> {
    const sink = this.#sink;
    return new Set(
      devices.filter((d) => sink?.hasLocalDevice?.(d.userId, d.deviceId) === true).map((d) => deviceKey(d)),
    );
  }

  publishControl(event: ControlEvent): void {
    this.#sink?.onControl(event);
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.#connections.clear();
  }
}
