import { randomUUID } from "node:crypto";
import type {
  LoginChallengeResponse,
  LoginEnrolledResponse,
  SessionResponse,
  SessionView,
  TotpEnrolment,
} from "@parley/protocol";
import { checkPassword, type PasswordPolicy } from "@parley/protocol/password-policy";
import type { AuditEvent } from "../audit/audit-log.js";
import type { SessionEndReason } from "../bus/bus.js";
import {
  type SessionRecord,
  type Storage,
  StorageConflictError,
  type UserRecord,
} from "../storage/storage.js";
import { ParleyError } from "./errors.js";
import { asSessionId, asUserId, type SessionId, type UserId } from "./ids.js";
import type { LoginGuard } from "./login-guard.js";
import { dummyVerify, hashPassword, needsRehash, verifyPassword } from "./password-hasher.js";
import type { ClientContext } from "./recovery.js";
import {
  hashInviteCode,
  hashRefreshToken,
  newRefreshToken,
  TokenError,
  type TokenService,
} from "./tokens.js";
import type { TotpService } from "./totp.js";
import { usernameKey, validateUsername } from "./usernames.js";

export interface AccountServiceOptions {
  storage: Storage;
  tokens: TokenService;
  guard: LoginGuard;
  policy: PasswordPolicy;
  registration: "open" | "invite" | "closed";
  /** Ends every socket of a session (logout, password change, disable). */
  onSessionRevoked: (sessionId: SessionId, reason: SessionEndReason) => void;
  /** The audit log; the routes record what they see, this only what they cannot (token reuse). */
  audit?: (event: AuditEvent) => void;
  /** The second factor (AUTH-13 to AUTH-15); without it logins need the password only. */
  totp?: TotpService | undefined;
  refreshTtlMs?: number;
  sessionMaxMs?: number;
  now?: () => number;
}

export interface AuthContext {
  userId: UserId;
  sessionId: SessionId;
  username: string;
  isAdmin: boolean;
}

const DAY = 24 * 60 * 60 * 1000;
/** ACCT-1: a session's "last seen" is written at most this often. */
export const LAST_SEEN_RESOLUTION_MS = 60_000;
/** Sessions whose last write this process remembers; past it the memory starts over. */
const TOUCHED_MAX = 50_000;

/** Where a request or socket came from: the address and the User-Agent (cleaned). */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/**
 * Accounts and sessions. A session is one sign-in on one device; it holds a chain of
 * refresh tokens (stored as hashes, rotated on every use) and hands out 15-minute access JWTs.
 * Reusing a refresh token that was already rotated means it leaked: the whole session ends.
 */
export class AccountService {
  readonly #o: Required<Omit<AccountServiceOptions, "now" | "totp">> & {
    now: () => number;
    totp: TotpService | undefined;
  };
  /** Session id -> when this process last wrote its last_seen_at. */
  readonly #touched = new Map<SessionId, number>();

  constructor(options: AccountServiceOptions) {
    this.#o = {
      refreshTtlMs: 14 * DAY,
      sessionMaxMs: 90 * DAY,
      now: Date.now,
      audit: () => undefined,
      totp: undefined,
      ...options,
    };
  }

  async register(
    input: {
      username: string;
      password: string;
      inviteCode?: string;
    },
    ip = "",
    userAgent: string | null = null,
  ): Promise<SessionResponse> {
    const { storage, registration, policy } = this.#o;
    if (registration === "closed") throw new ParleyError("registration_closed");
    const username = validateUsername(input.username);
    const verdict = checkPassword(input.password, username, policy);
    if (!verdict.ok) throw new ParleyError("password_policy", { failedRules: verdict.failed });
    if (registration === "invite" && input.inviteCode === undefined) throw new ParleyError("invite_required");

    const now = this.#o.now();
    const id = asUserId(randomUUID());
    const passwordHash = await hashPassword(input.password, ip);
    if (registration === "invite") {
      // Check the name before spending the single-use code on it.
      if (await storage.findUserByUsername(username)) throw new ParleyError("username_taken");
      const consumed = await storage.consumeInvite(hashInviteCode(input.inviteCode ?? ""), id, now);
      if (!consumed) throw new ParleyError("invite_invalid");
    }
    // Never an admin by registering: "first to register wins" is a race anyone on the LAN can
    // enter. Admins are made from the server's own console (the `parley admin` command).
    const isAdmin = false;
    let user: UserRecord;
    try {
      user = await storage.createUser({ id, username, passwordHash, isAdmin, createdAt: now });
    } catch (e) {
      if (e instanceof StorageConflictError) throw new ParleyError("username_taken");
      throw e;
    }
    return this.#openSession(user, { ip: ip || null, userAgent });
  }

  /**
   * AUTH-2: the password step. Answers a session, or (AUTH-14) a challenge when the account has
   * TOTP or must enrol; the account's failure count is cleared only once the login completes.
   */
  async login(
    input: { username: string; password: string },
    ip: string,
    userAgent: string | null = null,
  ): Promise<SessionResponse | LoginChallengeResponse> {
    const { storage, guard } = this.#o;
    // One normalised name for the throttle and the lookup: " alice" must not get its own counter.
    const name = input.username.normalize("NFKC").trim();
    const key = usernameKey(name);
    await guard.check(ip, key);
    const user = await storage.findUserByUsername(name);
    // Unknown users cost a verification too, so timing does not tell which names exist.
    const ok = user
      ? await verifyPassword(user.passwordHash, input.password, ip)
      : await dummyVerify(input.password, ip);
    if (!user || !ok) {
      await guard.failure(ip, key);
      throw new ParleyError("invalid_credentials");
    }
    if (user.disabled) throw new ParleyError("account_disabled");
    if (needsRehash(user.passwordHash)) {
      await storage.updatePasswordHash(user.id, await hashPassword(input.password, ip));
    }
    const challenge = await this.#o.totp?.challengeFor(user, ip);
    if (challenge) return challenge;
    await guard.success(ip, key);
    return this.#openSession(user, { ip: ip || null, userAgent });
  }

  /** AUTH-14: the login's second step, a TOTP or TOTP recovery code with its challenge. */
  async loginTotp(challenge: string, code: string, client: ClientContext): Promise<SessionResponse> {
    const user = await this.#totp().completeLogin(challenge, code, client);
    return this.#openSession(user, client);
  }

  /** AUTH-14: a login PARLEY_REQUIRE_TOTP holds back gets its TOTP secret. */
  loginTotpEnrol(challenge: string, client: ClientContext): Promise<TotpEnrolment> {
    return this.#totp().enrolForLogin(challenge, client);
  }

  /** AUTH-14: the first code confirms the enrolment and completes the login. */
  async loginTotpConfirm(
    challenge: string,
    code: string,
    client: ClientContext,
  ): Promise<LoginEnrolledResponse> {
    const { user, recoveryCodes } = await this.#totp().confirmForLogin(challenge, code, client);
    return { session: await this.#openSession(user, client), recoveryCodes };
  }

  #totp(): TotpService {
    if (!this.#o.totp) throw new ParleyError("login_challenge_invalid");
    return this.#o.totp;
  }

  /**
   * Verifies an access token and that its session is still alive. With `ip`, the session's
   * "last seen" moves on (ACCT-1), at most once a minute.
   */
  async authenticate(token: string, ip?: string): Promise<AuthContext> {
    let claims: Awaited<ReturnType<TokenService["verifyAccessToken"]>>;
    try {
      claims = await this.#o.tokens.verifyAccessToken(token);
    } catch (e) {
      if (e instanceof TokenError)
        throw new ParleyError(e.code === "token_expired" ? "token_expired" : "token_invalid");
      throw e;
    }
    const session = await this.#o.storage.findSession(asSessionId(claims.sid));
    if (!this.#alive(session) || session.userId !== claims.sub) throw new ParleyError("session_revoked");
    const user = await this.#o.storage.findUserById(asUserId(claims.sub));
    if (!user) throw new ParleyError("session_revoked");
    if (user.disabled) throw new ParleyError("account_disabled");
    if (ip !== undefined) await this.touch(session.id, ip);
    return { userId: user.id, sessionId: session.id, username: user.username, isAdmin: user.isAdmin };
  }

  /**
   * ACCT-1: the session was used just now from `ip`. Written at most once a minute per session
   * (per process), so a busy socket costs a map lookup per frame, not a database write.
   * Undefined when nothing is written: the frame path then allocates no promise.
   */
  touch(sessionId: SessionId, ip: string | null): Promise<void> | undefined {
    const now = this.#o.now();
    const last = this.#touched.get(sessionId);
    if (last !== undefined && now - last < LAST_SEEN_RESOLUTION_MS) return undefined;
    if (this.#touched.size >= TOUCHED_MAX) this.#touched.clear();
    this.#touched.set(sessionId, now);
    return this.#recordSeen(sessionId, now, ip);
  }

  async #recordSeen(sessionId: SessionId, now: number, ip: string | null): Promise<void> {
    await this.#o.storage.touchSession(sessionId, now, ip);
  }

  /** ACCT-1: the account's live sessions, newest first, the caller's marked `current`. */
  async listSessions(auth: AuthContext): Promise<SessionView[]> {
    const sessions = await this.#o.storage.listLiveSessions(auth.userId, this.#o.now());
    return sessions.map((s) => ({
      id: s.id,
      current: s.id === auth.sessionId,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      ip: s.ip,
      userAgent: s.userAgent,
      deviceId: s.deviceId,
    }));
  }

  /**
   * ACCT-2: ends one live session of the caller's account (their current one too): its
   * refresh token stops working and its sockets close with `session_ended` at once.
   * `session_not_found` for any id that is not a live session of this account.
   */
  async endSession(auth: AuthContext, sessionId: string): Promise<void> {
    const session = await this.#o.storage.findSession(asSessionId(sessionId));
    if (!this.#alive(session) || session.userId !== auth.userId) throw new ParleyError("session_not_found");
    await this.#revoke(session.id, "session_ended");
  }

  /** ACCT-2, admin: ends every session of the account; returns how many. */
  async endAllSessions(userId: UserId, reason: SessionEndReason = "session_ended"): Promise<number> {
    const revoked = await this.#o.storage.revokeUserSessions(userId, this.#o.now());
    for (const id of revoked) this.#o.onSessionRevoked(id, reason);
    return revoked.length;
  }

  /**
   * Checks the signed-in person's password as a login would (AUTH-3, AUTH-4 count a wrong
   * one): `invalid_credentials` when it is wrong.
   */
  async confirmPassword(auth: AuthContext, password: string, ip: string): Promise<void> {
    const { storage, guard } = this.#o;
    const user = await storage.findUserById(auth.userId);
    if (!user) throw new ParleyError("session_revoked");
    const key = usernameKey(user.username);
    await guard.check(ip, key);
    if (!(await verifyPassword(user.passwordHash, password, ip))) {
      await guard.failure(ip, key);
      throw new ParleyError("invalid_credentials");
    }
  }

  async refresh(refreshToken: string): Promise<SessionResponse> {
    const { storage } = this.#o;
    const now = this.#o.now();
    const hash = hashRefreshToken(refreshToken);
    const record = await storage.findRefreshToken(hash);
    if (!record) throw new ParleyError("refresh_token_invalid");
    const session = await storage.findSession(record.sessionId);
    if (!this.#alive(session)) throw new ParleyError("refresh_token_invalid");
    if (record.usedAt !== null || !(await storage.markRefreshTokenUsed(hash, now))) {
      // RFC 6819 §5.2.2.3 / OAuth 2.1: a rotated token presented again was stolen or replayed;
      // end the session so neither holder can go on.
      await this.#revoke(session.id, "session_revoked");
      this.#o.audit({
        kind: "session_revoked",
        userId: session.userId,
        details: { reason: "refresh_token_reuse" },
      });
      throw new ParleyError("refresh_token_invalid");
    }
    if (record.expiresAt <= now) throw new ParleyError("refresh_token_invalid");
    const user = await storage.findUserById(session.userId);
    if (!user || user.disabled) throw new ParleyError(user ? "account_disabled" : "refresh_token_invalid");
    return this.#issue(user, session);
  }

  async logout(auth: AuthContext): Promise<void> {
    await this.#revoke(auth.sessionId, "session_revoked");
  }

  async changePassword(
    auth: AuthContext,
    currentPassword: string,
    newPassword: string,
    ip: string,
  ): Promise<void> {
    const { storage, guard, policy } = this.#o;
    const user = await storage.findUserById(auth.userId);
    if (!user) throw new ParleyError("session_revoked");
    // The same password again changes nothing and would cost two hashes: refused unhashed.
    if (newPassword.normalize("NFKC") === currentPassword.normalize("NFKC")) {
      throw new ParleyError("validation_failed", { details: ["/newPassword"] });
    }
    const key = usernameKey(user.username);
    await guard.check(ip, key);
    if (!(await verifyPassword(user.passwordHash, currentPassword, ip))) {
      await guard.failure(ip, key);
      throw new ParleyError("invalid_credentials");
    }
    const verdict = checkPassword(newPassword, user.username, policy);
    if (!verdict.ok) throw new ParleyError("password_policy", { failedRules: verdict.failed });
    await storage.updatePasswordHash(user.id, await hashPassword(newPassword, ip));
    const revoked = await storage.revokeUserSessions(user.id, this.#o.now(), auth.sessionId);
    for (const id of revoked) this.#o.onSessionRevoked(id, "session_revoked");
  }

  /**
   * Re-authenticates the signed-in user with their password (an identity reset), runs `then`,
   * and ends every other session of the account: its other devices lost their identity.
   */
  async withPassword(
    auth: AuthContext,
    password: string,
    ip: string,
    then: () => Promise<void>,
  ): Promise<void> {
    const { storage, guard } = this.#o;
    const user = await storage.findUserById(auth.userId);
    if (!user) throw new ParleyError("session_revoked");
    const key = usernameKey(user.username);
    await guard.check(ip, key);
    if (!(await verifyPassword(user.passwordHash, password, ip))) {
      await guard.failure(ip, key);
      throw new ParleyError("invalid_credentials");
    }
    await then();
    const revoked = await storage.revokeUserSessions(user.id, this.#o.now(), auth.sessionId);
    for (const id of revoked) this.#o.onSessionRevoked(id, "session_revoked");
  }

  async setDisabled(userId: UserId, disabled: boolean): Promise<void> {
    const { storage } = this.#o;
    await storage.setUserDisabled(userId, disabled);
    if (!disabled) return;
    const revoked = await storage.revokeUserSessions(userId, this.#o.now());
    for (const id of revoked) this.#o.onSessionRevoked(id, "account_disabled");
  }

  async #openSession(user: UserRecord, client: ClientInfo): Promise<SessionResponse> {
    const now = this.#o.now();
    const session = await this.#o.storage.createSession({
      id: asSessionId(randomUUID()),
      userId: user.id,
      createdAt: now,
      expiresAt: now + this.#o.sessionMaxMs,
      userAgent: client.userAgent,
      ip: client.ip,
    });
    return this.#issue(user, session);
  }

  async #issue(user: UserRecord, session: SessionRecord): Promise<SessionResponse> {
    const now = this.#o.now();
    const access = await this.#o.tokens.issueAccessToken({
      userId: user.id,
      sessionId: session.id,
      username: user.username,
      isAdmin: user.isAdmin,
    });
    const refresh = newRefreshToken();
    const refreshExpiresAt = Math.min(now + this.#o.refreshTtlMs, session.expiresAt);
    await this.#o.storage.insertRefreshToken({
      tokenHash: refresh.hash,
      sessionId: session.id,
      createdAt: now,
      expiresAt: refreshExpiresAt,
    });
    return {
      user: { id: user.id, username: user.username, isAdmin: user.isAdmin },
      sessionId: session.id,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshTokenExpiresAt: refreshExpiresAt,
    };
  }

  /** IDENT-5: `deviceId` authenticated a socket with this session (removing it ends the session). */
  bindSessionDevice(sessionId: SessionId, deviceId: string): Promise<void> {
    return this.#o.storage.bindSessionDevice(sessionId, deviceId);
  }

  /** IDENT-5: ends a session a removed device still held (its socket is being closed). */
  async endRemovedDeviceSession(sessionId: SessionId): Promise<void> {
    await this.#o.storage.revokeSession(sessionId, this.#o.now());
  }

  #alive(session: SessionRecord | undefined): session is SessionRecord {
    return session !== undefined && session.revokedAt === null && session.expiresAt > this.#o.now();
  }

  async #revoke(sessionId: SessionId, reason: SessionEndReason): Promise<void> {
    await this.#o.storage.revokeSession(sessionId, this.#o.now());
    this.#o.onSessionRevoked(sessionId, reason);
  }
}
