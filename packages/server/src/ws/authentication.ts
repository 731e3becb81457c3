// WS-1 for one socket: checks the `auth` frame's protocol version, token and device, then admits the user under LIMIT-3.
import { type ClientFrameOf, type ErrorCode, PROTOCOL_VERSION } from "@parley/protocol";
import type { Logger } from "pino";
import type { Bus } from "../bus/bus.js";
import type { Config } from "../config/config.js";
import type { AccountService, AuthContext } from "../domain/accounts.js";
import type { DeliveryService } from "../domain/delivery.js";
import { ParleyError } from "../domain/errors.js";
import { type DeviceSessions, SignOn, signOnDevice } from "../domain/sign-on.js";
import type { Metrics } from "../ops/metrics.js";
import type { Connection } from "./connection.js";

export interface SocketAuthOptions {
  config: Pick<Config, "maxConnectionsPerUser" | "duplicateLogin">;
  bus: Bus;
  accounts: AccountService;
  delivery: Pick<DeliveryService, "isRemoved">;
  metrics: Metrics;
  log: Logger;
}

/** Tells the socket why (when there is an error frame to send) and closes it with `code`. */
function refuse(conn: Connection, code: ErrorCode, error?: ParleyError): undefined {
  if (error) conn.sendError(error);
  conn.close(code);
  return undefined;
}

/**
 * Signs sockets on and off: a socket's `auth` frame becomes its user (or a refusal with a
 * stable code, and the socket closed), and a closed socket's user is counted out (PRES-1).
 */
export class SocketAuth {
  readonly #signOn: SignOn;
  readonly #devices: DeviceSessions;

  constructor(private readonly o: SocketAuthOptions) {
    this.#devices = {
      isRemoved: (userId, deviceId) => o.delivery.isRemoved(userId, deviceId),
      endSession: (sessionId) => o.accounts.endRemovedDeviceSession(sessionId),
      bindSession: (sessionId, deviceId) => o.accounts.bindSessionDevice(sessionId, deviceId),
      onUnbound: (err) =>
        o.log.warn({ err, event: "session_device_unbound" }, "could not record the session's device"),
    };
    this.#signOn = new SignOn({
      bus: o.bus,
      maxConnectionsPerUser: o.config.maxConnectionsPerUser,
      duplicateLogin: o.config.duplicateLogin,
      onError: this.#presenceFailed,
    });
  }

  /**
   * The user `frame` signs `conn` on as, admitted; undefined when refused (the socket is then
   * told why and closed) or when it closed meanwhile.
   */
  async signOn(conn: Connection, frame: ClientFrameOf<"auth">): Promise<AuthContext | undefined> {
    if (frame.protocolVersion !== PROTOCOL_VERSION) return refuse(conn, "unsupported_protocol_version");
    let auth: AuthContext;
    try {
      auth = await this.o.accounts.authenticate(frame.token, conn.ip);
    } catch (e) {
      if (!(e instanceof ParleyError)) throw e;
      this.o.metrics.authFailures.inc({ kind: "ws_token" });
      return refuse(conn, e.code, e);
    }
    if (frame.deviceId !== undefined && !(await signOnDevice(this.#devices, auth, frame.deviceId))) {
      return refuse(conn, "device_removed", new ParleyError("device_removed"));
    }
    if (conn.closing) return undefined;
    const admission = await this.#signOn.admit(auth, conn.id, () => conn.closing);
    if (!admission.admitted) return admission.reason ? refuse(conn, admission.reason) : undefined;
    return auth;
  }

  /** Counts a signed-on socket out (PRES-1: its user may go offline). */
  async signOff(auth: AuthContext, connectionId: string): Promise<void> {
    try {
      await this.#signOn.left(auth.userId, auth.username, connectionId);
    } catch (err) {
      this.#presenceFailed(err);
    }
  }

  stop(): void {
    this.#signOn.stop();
  }

  readonly #presenceFailed = (err: unknown): void => {
    this.o.log.error({ err, event: "presence_error" }, "presence update failed");
  };
}
