/** The admin API (docs/PROTOCOL.md "Admin endpoints"), for the clients' admin areas. */
import {
  type AdminAuditQuery,
  AdminAuditResponse,
  type AdminBlockRequest,
  AdminBlocksResponse,
  AdminInvitesResponse,
  AdminRoomsResponse,
  AdminSettingsResponse,
  AdminStatsResponse,
  AdminUsersResponse,
  CreateInviteResponse,
  ResetCodeResponse,
  SignOutResponse,
} from "@parley/protocol";
import { expectShape } from "./json.js";

/** An authenticated JSON call (Session.api): the answer's body, or a thrown ParleyClientError. */
export type ApiCall = (method: string, path: string, body?: unknown) => Promise<unknown>;

/**
 * Typed calls to `/api/admin/*`, every answer checked against its protocol schema. The server
 * decides who is an admin (AUTH-10): for anyone else each call throws `admin_required`.
 */
export class AdminApi {
  readonly #call: ApiCall;

  constructor(call: ApiCall) {
    this.#call = call;
  }

  async users(): Promise<AdminUsersResponse["users"]> {
    return this.#get<AdminUsersResponse>(AdminUsersResponse, "/api/admin/users", "user list").then(
      (r) => r.users,
    );
  }

  async setDisabled(userId: string, disabled: boolean): Promise<void> {
    await this.#call("POST", `${user(userId)}/${disabled ? "disable" : "enable"}`);
  }

  /** Makes the account an admin, or takes that away (never from the last admin: `last_admin`). */
  async setAdmin(userId: string, admin: boolean): Promise<void> {
    await this.#call("POST", `${user(userId)}/role`, { admin });
  }

  /** Ends every session of the account; its sockets close. */
  async signOutEverywhere(userId: string): Promise<void> {
    await this.#call("POST", `${user(userId)}/sign-out`);
  }

  /**
   * AUTH-16: turns two-step sign-in off for someone who lost their authenticator and recovery
   * codes; every session of the account ends. Answers how many.
   */
  async clearTotp(userId: string): Promise<number> {
    const answer = await this.#call("DELETE", `${user(userId)}/totp`);
    return expectShape<SignOutResponse>(SignOutResponse, answer, "sessions ended").sessions;
  }

  /** AUTH-11: a one-time reset code for the account, shown once. */
  async issueResetCode(userId: string): Promise<ResetCodeResponse> {
    const answer = await this.#call("POST", `${user(userId)}/reset-code`);
    return expectShape<ResetCodeResponse>(ResetCodeResponse, answer, "reset code");
  }

  /** Deletes the account for good. */
  async deleteUser(userId: string): Promise<void> {
    await this.#call("DELETE", user(userId));
  }

  async invites(): Promise<AdminInvitesResponse["invites"]> {
    return this.#get<AdminInvitesResponse>(AdminInvitesResponse, "/api/admin/invites", "invite list").then(
      (r) => r.invites,
    );
  }

  /** A registration code for `maxUses` accounts (default 1), valid `ttlHours` (default 72). */
  async createInvite(options: { ttlHours?: number; maxUses?: number } = {}): Promise<CreateInviteResponse> {
    const answer = await this.#call("POST", "/api/admin/invites", options);
    return expectShape<CreateInviteResponse>(CreateInviteResponse, answer, "invite");
  }

  async revokeInvite(inviteId: string): Promise<void> {
    await this.#call("DELETE", `/api/admin/invites/${encodeURIComponent(inviteId)}`);
  }

  async blocks(): Promise<AdminBlocksResponse["blocks"]> {
    return this.#get<AdminBlocksResponse>(AdminBlocksResponse, "/api/admin/blocks", "block list").then(
      (r) => r.blocks,
    );
  }

  /** Blocks an address's logins for `minutes`, with an optional note shown in the list. */
  async block(request: AdminBlockRequest): Promise<void> {
    await this.#call("POST", "/api/admin/blocks", request);
  }

  async unblock(ip: string): Promise<void> {
    await this.#call("DELETE", `/api/admin/blocks/${encodeURIComponent(ip)}`);
  }

  /** One page of every room, oldest first; pass the previous page's `nextCursor` for the next. */
  rooms(cursor?: string): Promise<AdminRoomsResponse> {
    const query = cursor === undefined ? "" : `?cursor=${encodeURIComponent(cursor)}`;
    return this.#get(AdminRoomsResponse, `/api/admin/rooms${query}`, "room list");
  }

  /** Deletes a room for everyone (ROOM-13). */
  async deleteRoom(roomId: string): Promise<void> {
    await this.#call("DELETE", `/api/admin/rooms/${encodeURIComponent(roomId)}`);
  }

  /** The live figures (ADMIN-1). */
  stats(): Promise<AdminStatsResponse> {
    return this.#get(AdminStatsResponse, "/api/admin/stats", "figures");
  }

  /** The server's effective settings, secrets redacted. */
  async settings(): Promise<AdminSettingsResponse["settings"]> {
    return this.#get<AdminSettingsResponse>(AdminSettingsResponse, "/api/admin/settings", "settings").then(
      (r) => r.settings,
    );
  }

  /** AUDIT-2: one page of the audit log, newest first. */
  audit(query: AdminAuditQuery = {}): Promise<AdminAuditResponse> {
    const params = Object.entries(query)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
    const qs = params.length > 0 ? `?${params.join("&")}` : "";
    return this.#get(AdminAuditResponse, `/api/admin/audit${qs}`, "audit page");
  }

  async #get<T>(schema: Parameters<typeof expectShape>[0], path: string, what: string): Promise<T> {
    return expectShape<T>(schema, await this.#call("GET", path), what);
  }
}

function user(userId: string): string {
  return `/api/admin/users/${encodeURIComponent(userId)}`;
}
