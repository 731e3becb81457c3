import { randomBytes } from "node:crypto";
import {
  LOGIN_CHALLENGE_MAX_ATTEMPTS,
  LOGIN_CHALLENGE_TTL_S,
  type LoginChallengeResponse,
  TOTP_RECOVERY_CODE_COUNT,
  type TotpEnrolment,
  type TotpStatus,
} from "@parley/protocol";
import { Secret, TOTP } from "otpauth";
import type { AuditEvent } from "../audit/audit-log.js";
import type { Storage, UserRecord } from "../storage/storage.js";
import type { LoginChallengeKind, TotpFactorRecord } from "../storage/totp-store.js";
import { ParleyError } from "./errors.js";
import type { UserId } from "./ids.js";
import type { LoginGuard } from "./login-guard.js";
import { verifyPassword } from "./password-hasher.js";
import type { ClientContext } from "./recovery.js";
import type { SecretBox } from "./secret-box.js";
import { hashInviteCode, hashRefreshToken, newInviteCode } from "./tokens.js";
import { usernameKey } from "./usernames.js";

/** PARLEY_REQUIRE_TOTP: whose sign-in must have a second factor. */
export type TotpRequirement = "off" | "admins" | "all";

export interface TotpServiceOptions {
  storage: Storage;
  guard: LoginGuard;
  /** Seals the secrets at rest (the data dir's TOTP key). */
  box: SecretBox;
  require: TotpRequirement;
  audit: (event: AuditEvent) => void;
  /** The issuer authenticator apps show beside the account. Default "Parley". */
  issuer?: string;
  /** Milliseconds since the epoch. Default `Date.now`; tests pass a fake clock. */
  now?: () => number;
}

// RFC 6238 §4 and §5.2: the defaults every authenticator app implements (SHA-1, 6 digits,
// 30 s), and one step either side accepted for clock drift and the time it takes to type.
const PERIOD_S = 30;
const DIGITS = 6;
const WINDOW = 1;
const SIX_DIGITS = /^[0-9]{6}$/;

/**
 * Optional TOTP (RFC 6238, via `otpauth`) as a second factor (AUTH-13 to AUTH-15). The secret
 * is sealed at rest and shown only at enrolment; enrolment is on only after a first code
 * confirms it; ten single-use recovery codes stand in for a lost authenticator. Every code is
 * accepted at most once (the last accepted time step is kept), and every wrong code counts as
 * a failed login for the IP and the account (AUTH-3, AUTH-4). A login that needs a code gets a
 * single-use challenge bound to the account and the client's address, so the password is sent
 * only once.
 */
export class TotpService {
  readonly #o: Required<TotpServiceOptions>;

  constructor(options: TotpServiceOptions) {
    this.#o = { issuer: "Parley", now: Date.now, ...options };
  }

  /** Whether PARLEY_REQUIRE_TOTP covers this account. */
  required(user: Pick<UserRecord, "isAdmin">): boolean {
    return this.#o.require === "all" || (this.#o.require === "admins" && user.isAdmin);
  }

  async status(user: UserRecord): Promise<TotpStatus> {
    const factor = await this.#o.storage.totp.find(user.id);
    const enabled = factor?.enabledAt != null;
    return {
      enabled,
      required: this.required(user),
      recoveryCodesLeft: enabled
        ? await this.#o.storage.recovery.countUsable(user.id, "totp", this.#o.now())
        : 0,
    };
  }

  // ---------------------------------------------------------------- enrolment, signed in

  /** AUTH-13: a new secret for a signed-in person, after their password; on only once confirmed. */
  async enrol(userId: UserId, password: string, client: ClientContext): Promise<TotpEnrolment> {
    const user = await this.#user(userId);
    await this.#password(user, password, client);
    return this.#begin(user);
  }

  /** AUTH-13: the first code turns the pending enrolment on; answers the recovery codes. */
  async confirm(userId: UserId, code: string, client: ClientContext): Promise<string[]> {
    const user = await this.#user(userId);
    return this.#confirm(user, code, client);
  }

  /** AUTH-13: turns TOTP off after the password and a current code (or a recovery code). */
  async disable(userId: UserId, password: string, code: string, client: ClientContext): Promise<void> {
    const { storage } = this.#o;
    const user = await this.#user(userId);
    if (this.required(user)) throw new ParleyError("totp_required");
    const factor = await storage.totp.find(user.id);
    if (factor?.enabledAt == null) throw new ParleyError("totp_not_enabled");
    await this.#password(user, password, client);
    await this.#verify(user, factor, code, client);
    await storage.totp.remove(user.id);
    await storage.recovery.replace(user.id, "totp", user.id, [], this.#o.now());
    this.#audit("totp_disabled", user, client);
  }

  /**
   * AUTH-16: an admin turns TOTP off for someone who lost both their authenticator and their
   * recovery codes (no password, no code: the admin vouches). The secret and the unused
   * recovery codes are gone; an account PARLEY_REQUIRE_TOTP covers enrols again at its next
   * sign-in. Throws `totp_not_enabled` when it was not on. The caller ends the sessions and
   * writes the audit entry.
   */
  async clear(user: UserRecord): Promise<void> {
    const { storage } = this.#o;
    const factor = await storage.totp.find(user.id);
    if (factor?.enabledAt == null) throw new ParleyError("totp_not_enabled");
    await storage.totp.remove(user.id);
    await storage.recovery.replace(user.id, "totp", user.id, [], this.#o.now());
  }

  /** Of `userIds`, those with TOTP on. */
  enabledAmong(userIds: readonly UserId[]): Promise<Set<UserId>> {
    return this.#o.storage.totp.enabledAmong(userIds);
  }

  // ---------------------------------------------------------------- the login's second step

  /**
   * After a correct password: the challenge the login answers with when this account needs a
   * code (it has TOTP) or must enrol first (PARLEY_REQUIRE_TOTP), else undefined.
   */
  async challengeFor(user: UserRecord, ip: string): Promise<LoginChallengeResponse | undefined> {
    const factor = await this.#o.storage.totp.find(user.id);
    let kind: LoginChallengeKind;
    if (factor?.enabledAt != null) kind = "totp";
    else if (this.required(user)) kind = "totp_enrol";
    else return undefined;
    const now = this.#o.now();
    const challenge = `lc_${randomBytes(32).toString("base64url")}`;
    const expiresAt = now + LOGIN_CHALLENGE_TTL_S * 1000;
    await this.#o.storage.totp.insertChallenge(hashRefreshToken(challenge), {
      userId: user.id,
      kind,
      ip,
      createdAt: now,
      expiresAt,
      attempts: 0,
    });
    return { next: kind, challenge, expiresAt };
  }

  /** AUTH-14: the second step of a login; the account on success (the caller opens a session). */
  async completeLogin(challenge: string, code: string, client: ClientContext): Promise<UserRecord> {
    const { user } = await this.#challenge(challenge, "totp", client);
    const factor = await this.#o.storage.totp.find(user.id);
    if (factor?.enabledAt == null) throw new ParleyError("login_challenge_invalid");
    await this.#verify(user, factor, code, client);
    await this.#spend(challenge);
    await this.#o.guard.success(client.ip, usernameKey(user.username));
    return user;
  }

  /** AUTH-14: a login that must enrol first gets its secret with its challenge. */
  async enrolForLogin(challenge: string, client: ClientContext): Promise<TotpEnrolment> {
    const { user } = await this.#challenge(challenge, "totp_enrol", client);
    return this.#begin(user);
  }

  /** AUTH-14: the first code completes both the enrolment and the login. */
  async confirmForLogin(
    challenge: string,
    code: string,
    client: ClientContext,
  ): Promise<{ user: UserRecord; recoveryCodes: string[] }> {
    const { user } = await this.#challenge(challenge, "totp_enrol", client);
    const recoveryCodes = await this.#confirm(user, code, client);
    await this.#spend(challenge);
    await this.#o.guard.success(client.ip, usernameKey(user.username));
    return { user, recoveryCodes };
  }

  purgeChallenges(): Promise<number> {
    return this.#o.storage.totp.purgeChallenges(this.#o.now());
  }

  // ---------------------------------------------------------------- internals

  async #user(userId: UserId): Promise<UserRecord> {
    const user = await this.#o.storage.findUserById(userId);
    if (!user) throw new ParleyError("session_revoked");
    return user;
  }

  async #password(user: UserRecord, password: string, client: ClientContext): Promise<void> {
    const key = usernameKey(user.username);
    await this.#o.guard.check(client.ip, key);
    if (!(await verifyPassword(user.passwordHash, password, client.ip))) {
      await this.#o.guard.failure(client.ip, key);
      throw new ParleyError("invalid_credentials");
    }
  }

  async #begin(user: UserRecord): Promise<TotpEnrolment> {
    const secret = new Secret({ size: 20 });
    const sealed = this.#o.box.seal(secret.base32, user.id);
    if (!(await this.#o.storage.totp.begin(user.id, sealed, this.#o.now())))
      throw new ParleyError("totp_already_enabled");
    return { secret: secret.base32, uri: this.#totp(user, secret.base32).toString() };
  }

  async #confirm(user: UserRecord, code: string, client: ClientContext): Promise<string[]> {
    const { storage } = this.#o;
    const factor = await storage.totp.find(user.id);
    if (!factor) throw new ParleyError("totp_not_enabled");
    if (factor.enabledAt !== null) throw new ParleyError("totp_already_enabled");
    const key = usernameKey(user.username);
    await this.#o.guard.check(client.ip, key);
    const step = this.#step(user, factor, code);
    if (step === undefined || !(await storage.totp.confirm(user.id, step, this.#o.now())))
      return this.#fail(user, client, "wrong_code");
    const now = this.#o.now();
    const fresh = Array.from({ length: TOTP_RECOVERY_CODE_COUNT }, () => newInviteCode());
    await storage.recovery.replace(
      user.id,
      "totp",
      user.id,
      fresh.map((c) => ({ codeHash: c.hash, expiresAt: null })),
      now,
    );
    this.#audit("totp_enabled", user, client);
    return fresh.map((c) => c.code);
  }

  /** Accepts a current, unused code or an unused recovery code, or counts a failure and throws. */
  async #verify(
    user: UserRecord,
    factor: TotpFactorRecord,
    code: string,
    client: ClientContext,
  ): Promise<void> {
    const { storage } = this.#o;
    const key = usernameKey(user.username);
    await this.#o.guard.check(client.ip, key);
    const digits = code.replace(/\s/g, "");
    if (SIX_DIGITS.test(digits)) {
      const step = this.#step(user, factor, digits);
      if (step === undefined) return this.#fail(user, client, "wrong_code");
      // RFC 6238 §5.2: a code is accepted once; this or an earlier step again is a replay.
      if (!(await storage.totp.useStep(user.id, step))) return this.#fail(user, client, "code_reused");
      return;
    }
    const used = await storage.recovery.consume(user.id, hashInviteCode(code), this.#o.now(), ["totp"]);
    if (used === undefined) return this.#fail(user, client, "wrong_recovery_code");
  }

  /** The time step `code` is valid for (one step of drift either way), or undefined. */
  #step(user: UserRecord, factor: TotpFactorRecord, code: string): number | undefined {
    const digits = code.replace(/\s/g, "");
    if (!SIX_DIGITS.test(digits)) return undefined;
    let secret: string;
    try {
      secret = this.#o.box.open(factor.secret, user.id);
    } catch {
      // Sealed under another key (the data dir's totp.key was replaced): no code can match.
      return undefined;
    }
    const timestamp = this.#o.now();
    const delta = this.#totp(user, secret).validate({ token: digits, timestamp, window: WINDOW });
    if (delta === null) return undefined;
    return TOTP.counter({ period: PERIOD_S, timestamp }) + delta;
  }

  #totp(user: UserRecord, base32: string): TOTP {
    return new TOTP({
      issuer: this.#o.issuer,
      label: user.username,
      algorithm: "SHA1",
      digits: DIGITS,
      period: PERIOD_S,
      secret: Secret.fromBase32(base32),
    });
  }

  async #fail(user: UserRecord, client: ClientContext, reason: string): Promise<never> {
    await this.#o.guard.failure(client.ip, usernameKey(user.username));
    this.#audit("totp_failed", user, client, { reason });
    throw new ParleyError("totp_invalid");
  }

  /** The live challenge of `kind` for this client's address, with its account; counts a try. */
  async #challenge(
    challenge: string,
    kind: LoginChallengeKind,
    client: ClientContext,
  ): Promise<{ user: UserRecord }> {
    const c = await this.#o.storage.totp.tryChallenge(
      hashRefreshToken(challenge),
      this.#o.now(),
      LOGIN_CHALLENGE_MAX_ATTEMPTS,
    );
    // Bound to the address that gave the password: a challenge taken elsewhere is worthless.
    if (!c || c.kind !== kind || c.ip !== client.ip) throw new ParleyError("login_challenge_invalid");
    const user = await this.#o.storage.findUserById(c.userId);
    if (!user) throw new ParleyError("login_challenge_invalid");
    if (user.disabled) throw new ParleyError("account_disabled");
    await this.#o.guard.check(client.ip, usernameKey(user.username));
    return { user };
  }

  async #spend(challenge: string): Promise<void> {
    if (!(await this.#o.storage.totp.spendChallenge(hashRefreshToken(challenge), this.#o.now())))
      throw new ParleyError("login_challenge_invalid");
  }

  #audit(kind: AuditEvent["kind"], user: UserRecord, client: ClientContext, details?: AuditEvent["details"]) {
    this.#o.audit({
      kind,
      actorId: user.id,
      userId: user.id,
      username: user.username,
      ...client,
      ...(details ? { details } : {}),
    });
  }
}
