import {
  RECOVERY_CODE_COUNT,
  RESET_CODE_TTL_HOURS,
  type RecoveryCodesResponse,
  type ResetCodeResponse,
} from "@parley/protocol";
import { checkPassword, type PasswordPolicy } from "@parley/protocol/password-policy";
import type { AuditEvent } from "../audit/audit-log.js";
import type { RecoveryCodeKind } from "../storage/recovery-code-store.js";
import type { Storage } from "../storage/storage.js";
import { ParleyError } from "./errors.js";
import type { SessionId, UserId } from "./ids.js";
import type { LoginGuard } from "./login-guard.js";
import { dummyVerify, hashPassword, verifyPassword } from "./password-hasher.js";
import { hashInviteCode, newInviteCode } from "./tokens.js";
import { usernameKey } from "./usernames.js";

export interface RecoveryServiceOptions {
  storage: Storage;
  guard: LoginGuard;
  policy: PasswordPolicy;
  /** Ends every socket of a session (a reset ends them all). */
  onSessionRevoked: (sessionId: SessionId, reason: "session_revoked") => void;
  audit: (event: AuditEvent) => void;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** Where a request came from, for the guard and the audit log. */
export interface ClientContext {
  ip: string;
  userAgent: string | null;
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * Account recovery without email (AUTH-11, AUTH-12). A code is 80 random bits in the invite
 * code's format, shown once and kept as its SHA-256 hash (a hash of that much randomness needs
 * no stretching). Using one sets a new password and ends every session; the identity key is on
 * the person's devices, not derived from the password, so their contacts see no change. Wrong
 * codes count as failed logins for the IP and the account (AUTH-3, AUTH-4).
 */
export class RecoveryService {
  readonly #o: Required<RecoveryServiceOptions>;

  constructor(options: RecoveryServiceOptions) {
    this.#o = { now: Date.now, ...options };
  }

  /** AUTH-11: a reset code for `userId`, valid 24 hours; an earlier unused one stops working. */
  async issueResetCode(userId: UserId, issuedBy: UserId): Promise<ResetCodeResponse> {
    const now = this.#o.now();
    const expiresAt = now + RESET_CODE_TTL_HOURS * HOUR_MS;
    const { code, hash } = newInviteCode();
    await this.#o.storage.recovery.replace(userId, "reset", issuedBy, [{ codeHash: hash, expiresAt }], now);
    return { code, expiresAt };
  }

  /**
   * AUTH-12: ten fresh recovery codes for the signed-in person, after their password again;
   * the earlier unused ones stop working.
   */
  async createRecoveryCodes(
    userId: UserId,
    password: string,
    client: ClientContext,
  ): Promise<RecoveryCodesResponse> {
    const { storage, guard } = this.#o;
    const user = await storage.findUserById(userId);
    if (!user) throw new ParleyError("session_revoked");
    const key = usernameKey(user.username);
    await guard.check(client.ip, key);
    if (!(await verifyPassword(user.passwordHash, password, client.ip))) {
      await guard.failure(client.ip, key);
      throw new ParleyError("invalid_credentials");
    }
    const fresh = Array.from({ length: RECOVERY_CODE_COUNT }, () => newInviteCode());
    const codes = fresh.map((c) => ({ codeHash: c.hash, expiresAt: null }));
    await storage.recovery.replace(user.id, "recovery", user.id, codes, this.#o.now());
    this.#o.audit({
      kind: "recovery_codes_created",
      actorId: user.id,
      userId: user.id,
      username: user.username,
      ...client,
      details: { count: codes.length },
    });
    return { codes: fresh.map((c) => c.code) };
  }

  /** AUTH-12: how many unused recovery codes the person has left. */
  remaining(userId: UserId): Promise<number> {
    return this.#o.storage.recovery.countUsable(userId, "recovery", this.#o.now());
  }

  /**
   * AUTH-11, AUTH-12: sets a new password with a reset or recovery code and ends every session
   * of the account. An unknown name and a wrong code give the same answer, `reset_code_invalid`.
   */
  async resetPassword(
    input: { username: string; code: string; newPassword: string },
    client: ClientContext,
  ): Promise<void> {
    const { storage, guard, policy } = this.#o;
    const name = input.username.normalize("NFKC").trim();
    const key = usernameKey(name);
    await guard.check(client.ip, key);
    const user = await storage.findUserByUsername(name);
    let kind: RecoveryCodeKind | undefined;
    if (user) {
      // The policy is checked before the code is spent, so a weak password does not cost it.
      const verdict = checkPassword(input.newPassword, user.username, policy);
      if (!verdict.ok) throw new ParleyError("password_policy", { failedRules: verdict.failed });
      // A TOTP recovery code stands in for the second factor only: it never sets a password.
      kind = await storage.recovery.consume(user.id, hashInviteCode(input.code), this.#o.now(), [
        "reset",
        "recovery",
      ]);
    } else {
      // As much work as a real reset's hash, so timing does not tell which names exist.
      await dummyVerify(input.newPassword, client.ip);
    }
    if (!user || kind === undefined) {
      if (user) await dummyVerify(input.newPassword, client.ip);
      await guard.failure(client.ip, key);
      this.#o.audit({
        kind: "login_failed",
        ...(user ? { userId: user.id, username: user.username } : {}),
        ...client,
        details: { reason: "reset_code_invalid" },
      });
      throw new ParleyError("reset_code_invalid");
    }
    await storage.updatePasswordHash(user.id, await hashPassword(input.newPassword, client.ip));
    await guard.success(client.ip, key);
    const revoked = await storage.revokeUserSessions(user.id, this.#o.now());
    for (const id of revoked) this.#o.onSessionRevoked(id, "session_revoked");
    this.#o.audit({
      kind: "password_reset",
      actorId: user.id,
      userId: user.id,
      username: user.username,
      ...client,
      details: { with: kind === "reset" ? "reset_code" : "recovery_code", sessionsEnded: revoked.length },
    });
  }
}
