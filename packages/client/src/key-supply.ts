/** Registers this device with the server on its first connection and keeps its KeyPackage supply topped up (MLS-2, MLS-3). */
import type { DeviceIdentity } from "@parley/crypto";
import type { ServerFrameOf } from "@parley/protocol";
import { bytesToBase64 } from "./base64.js";
import type { Connection } from "./connection.js";
import { type DeviceKeys, KEY_PACKAGE_BATCH } from "./device.js";
import { asClientError, isConnectionGone, isParleyClientError, ParleyClientError } from "./errors.js";

export interface KeySupplyOptions {
  readonly device: Pick<
    DeviceKeys,
    | "isRegistered"
    | "registration"
    | "recreate"
    | "markRegistered"
    | "newKeyPackages"
    | "newLastResort"
    | "publishedSuite"
    | "markPublished"
    | "suite"
  >;
  readonly server: Pick<Connection, "request">;
  identity(): DeviceIdentity;
  /** The server bound this device id to another key: the device was made anew (new id, key). */
  onNewDevice(): void;
  report(error: ParleyClientError): void;
  /** True once the client is closed: nothing is kept for a next connection then. */
  closed(): boolean;
}

/**
 * Others can add this device to a group only with one of its KeyPackages (RFC 9420 §10), so the
 * server must hold some at all times: a batch at registration, and a new batch whenever the
 * server says the supply is low. A batch cut off with its connection goes up on the next one.
 */
export class KeySupply {
  readonly #o: KeySupplyOptions;
  #uploading: Promise<void> | undefined;
  #uploadOnReady = false;

  constructor(options: KeySupplyOptions) {
    this.#o = options;
  }

  /** Runs when a connection is authenticated, before requests are let through. */
  async ready(): Promise<void> {
    const { device, server } = this.#o;
    if (await device.isRegistered()) {
      if ((await device.publishedSuite()) !== device.suite) await this.#republish();
      else if (this.#uploadOnReady) this.replenish();
      return;
    }
    const identity = this.#o.identity();
    const registration = await device.registration(identity);
    let count: ServerFrameOf<"keypackages.count">;
    try {
      count = await server.request({ type: "device.register", ...registration }, "keypackages.count", {
        early: true,
        timeoutMs: 30_000,
      });
    } catch (e) {
      // The id is bound to another key (state lost): this is a new device from now on.
      if (e instanceof ParleyClientError && e.code === "device_key_mismatch") {
        await device.recreate(identity.userId);
        this.#o.onNewDevice();
      }
      throw e;
    }
    await device.markRegistered();
    if (count.low) this.replenish();
  }

  /**
   * MLS-9: the server now runs another suite (docs/OPERATIONS.md, "MLS cipher suite"): a batch
   * and a last resort in the new suite replace what others could claim. The old bundles stay
   * in the store, for Welcomes already on their way.
   */
  async #republish(): Promise<void> {
    const { device, server } = this.#o;
    const identity = this.#o.identity();
    const keyPackages = await device.newKeyPackages(identity, KEY_PACKAGE_BATCH);
    const lastResort = bytesToBase64((await device.newLastResort(identity)).keyPackage);
    try {
      await server.request({ type: "keypackages.upload", keyPackages, lastResort }, "keypackages.count", {
        early: true,
        timeoutMs: 30_000,
      });
    } catch (e) {
      // The server already holds as many as it keeps: the last resort alone still goes up.
      if (!isParleyClientError(e, "key_packages_full")) throw e;
      await server.request({ type: "keypackages.upload", keyPackages: [], lastResort }, "keypackages.count", {
        early: true,
        timeoutMs: 30_000,
      });
    }
    await device.markPublished(device.suite);
  }

  /** Resolves once the batch on its way, if any, has gone up or failed. */
  async idle(): Promise<void> {
    await this.#uploading;
  }

  /** Uploads a new batch unless one is on its way. */
  replenish(): void {
    this.#uploadOnReady = false;
    this.#uploading ??= (async () => {
      try {
        const keyPackages = await this.#o.device.newKeyPackages(this.#o.identity(), KEY_PACKAGE_BATCH);
        await this.#o.server.request({ type: "keypackages.upload", keyPackages }, "keypackages.count");
      } catch (e) {
        // The server may not have stored them; a fresh batch goes up once the device is back.
        if (isConnectionGone(e)) this.#uploadOnReady = !this.#o.closed();
        // The server holds all it keeps for this device: nothing is missing.
        else if (!isParleyClientError(e, "key_packages_full")) this.#o.report(asClientError(e));
      } finally {
        this.#uploading = undefined;
      }
    })();
  }
}
