// The admin API as typed calls, signed in as one admin account for one command.
import {
  type AdminBlockRequest,
  AdminBlocksResponse,
  AdminInvitesResponse,
  AdminRoomsResponse,
  AdminSettingsResponse,
  AdminStatsResponse,
  AdminUsersResponse,
  CreateInviteResponse,
  ErrorBody,
  LoginResponse,
  ResetCodeResponse,
  SessionResponse,
  SignOutResponse,
} from "@parley/protocol";
import type { TSchema } from "typebox";
import { Check } from "typebox/value";
import { CliError, EXIT } from "./cli-error.js";
import type { FetchLike } from "./https-fetch.js";
import { printable } from "./printable.js";

/**
 * The admin API (docs/PROTOCOL.md "Admin endpoints") as typed calls, signed in as one admin
 * account for the length of one command. Every answer is checked against its protocol schema.
 */
export class AdminApi {
  private constructor(
    private readonly base: string,
    private readonly fetch: FetchLike,
    private readonly token: string,
  ) {}

  /**
   * Logs in (POST /api/login): a new session, ended again by signOut(). An account with two-step
   * sign-in (AUTH-13) is asked for its code by `totpCode`, then POST /api/login/totp; one that
   * PARLEY_REQUIRE_TOTP makes enrol first is refused: enrolling shows a secret and a QR code,
   * which is for the browser or `parley chat`, not an admin command.
   */
  static async signIn(
    base: URL,
    fetch: FetchLike,
    username: string,
    password: string,
    totpCode: () => Promise<string>,
  ): Promise<AdminApi> {
    const root = base.origin;
    const answer = await call<LoginResponse>(fetch, root, "POST", "/api/login", null, LoginResponse, {
      username,
      password,
    });
    if (!("next" in answer)) return new AdminApi(root, fetch, answer.accessToken);
    if (answer.next === "totp_enrol") {
      throw new CliError(
        "this account must set up two-step sign-in first: sign in once with the browser or `parley chat`",
        EXIT.failed,
      );
    }
    const session = await call<SessionResponse>(
      fetch,
      root,
      "POST",
      "/api/login/totp",
      null,
      SessionResponse,
      {
        challenge: answer.challenge,
        code: await totpCode(),
      },
    );
    return new AdminApi(root, fetch, session.accessToken);
  }

  createInvite(ttlHours?: number, maxUses?: number): Promise<CreateInviteResponse> {
    const body = {
      ...(ttlHours === undefined ? {} : { ttlHours }),
      ...(maxUses === undefined ? {} : { maxUses }),
    };
    return this.#call<CreateInviteResponse>("POST", "/api/admin/invites", CreateInviteResponse, body);
  }

  async invites(): Promise<AdminInvitesResponse["invites"]> {
    return (await this.#call<AdminInvitesResponse>("GET", "/api/admin/invites", AdminInvitesResponse))
      .invites;
  }

  async revokeInvite(inviteId: string): Promise<void> {
    await this.#call("DELETE", `/api/admin/invites/${encodeURIComponent(inviteId)}`, null);
  }

  /** One page of every room, oldest first. */
  rooms(cursor?: string): Promise<AdminRoomsResponse> {
    const query = cursor === undefined ? "?limit=200" : `?limit=200&cursor=${encodeURIComponent(cursor)}`;
    return this.#call<AdminRoomsResponse>("GET", `/api/admin/rooms${query}`, AdminRoomsResponse);
  }

  stats(): Promise<AdminStatsResponse> {
    return this.#call<AdminStatsResponse>("GET", "/api/admin/stats", AdminStatsResponse);
  }

  async settings(): Promise<AdminSettingsResponse["settings"]> {
    return (await this.#call<AdminSettingsResponse>("GET", "/api/admin/settings", AdminSettingsResponse))
      .settings;
  }

  async setAdmin(userId: string, admin: boolean): Promise<void> {
    await this.#call("POST", `/api/admin/users/${encodeURIComponent(userId)}/role`, null, { admin });
  }

  /** Ends every session of the account (its sockets close). */
  async signOutEverywhere(userId: string): Promise<void> {
    await this.#call("POST", `/api/admin/users/${encodeURIComponent(userId)}/sign-out`, null);
  }

  async users(): Promise<AdminUsersResponse["users"]> {
    return (await this.#call<AdminUsersResponse>("GET", "/api/admin/users", AdminUsersResponse)).users;
  }

  async setDisabled(userId: string, disabled: boolean): Promise<void> {
    const path = `/api/admin/users/${encodeURIComponent(userId)}/${disabled ? "disable" : "enable"}`;
    await this.#call("POST", path, null);
  }

  /** AUTH-11: a one-time reset code for the account, shown once. */
  issueResetCode(userId: string): Promise<ResetCodeResponse> {
    const path = `/api/admin/users/${encodeURIComponent(userId)}/reset-code`;
    return this.#call<ResetCodeResponse>("POST", path, ResetCodeResponse);
  }

  /** AUTH-16: turns two-step sign-in off for the account; its sessions end. */
  async clearTotp(userId: string): Promise<number> {
    const path = `/api/admin/users/${encodeURIComponent(userId)}/totp`;
    return (await this.#call<SignOutResponse>("DELETE", path, SignOutResponse)).sessions;
  }

  async blocks(): Promise<AdminBlocksResponse["blocks"]> {
    return (await this.#call<AdminBlocksResponse>("GET", "/api/admin/blocks", AdminBlocksResponse)).blocks;
  }

  /** Deletes a room for everyone (ROOM-13). */
  async deleteRoom(roomId: string): Promise<void> {
    await this.#call("DELETE", `/api/admin/rooms/${encodeURIComponent(roomId)}`, null);
  }

  /** Blocks an address's logins for `minutes`; answers the address as listed. */
  async block(request: AdminBlockRequest): Promise<string> {
    const answer = await this.#call<{ ip: string }>("POST", "/api/admin/blocks", null, request);
    return answer.ip;
  }

  async unblock(ip: string): Promise<void> {
    await this.#call("DELETE", `/api/admin/blocks/${encodeURIComponent(ip)}`, null);
  }

  /** Ends the session (POST /api/logout). Best effort: the command's work is already done. */
  async signOut(): Promise<void> {
    await this.#call("POST", "/api/logout", null).catch(() => undefined);
  }

  #call<T>(method: string, path: string, schema: TSchema | null, body?: unknown): Promise<T> {
    return call<T>(this.fetch, this.base, method, path, this.token, schema, body);
  }
}

async function call<T>(
  fetch: FetchLike,
  base: string,
  method: string,
  path: string,
  token: string | null,
  schema: TSchema | null,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const data = text.length > 0 ? parseJson(text) : undefined;
  if (res.status >= 400) {
    if (Check(ErrorBody, data)) {
      const retry =
        data.retryAfterMs !== undefined ? `; retry in ${Math.ceil(data.retryAfterMs / 1000)} s` : "";
      throw new CliError(printable(`${data.message} (${data.code}${retry})`), EXIT.failed);
    }
    throw new CliError(`${method} ${path} failed with HTTP ${res.status}`, EXIT.failed);
  }
  if (schema !== null && !Check(schema, data)) {
    throw new CliError(`the server's answer to ${method} ${path} does not match the protocol`, EXIT.failed);
  }
  return data as T;
}

/** JSON.parse for untrusted input: keys that could reach a prototype are dropped. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, (key, value: unknown) =>
      key === "__proto__" || key === "constructor" || key === "prototype" ? undefined : value,
    );
  } catch {
    return undefined;
  }
}
