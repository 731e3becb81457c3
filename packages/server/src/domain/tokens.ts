import { createHash, randomBytes, webcrypto } from "node:crypto";
import { link, open, unlink } from "node:fs/promises";
import { errors, jwtVerify, SignJWT } from "jose";
import type { SessionId, UserId } from "./ids.js";

/**
 * Short-lived access tokens (JWT, RFC 9068 profile) and the opaque secrets that stand behind
 * longer-lived sessions: refresh tokens and invite codes. DESIGN.md, "tokens".
 */

/** RFC 9068 §2.1: the `typ` header of a JWT access token. */
const ACCESS_TOKEN_TYPE = "at+jwt";
const ALGORITHM = "HS256";
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_SECRET_BYTES = 32;
/** Prefix of refresh tokens: no JWT starts with it (a JWT starts with `ey`), and it has no dot. */
export const REFRESH_TOKEN_PREFIX = "prt_";
/** RFC 9068 §2.2's required claims, with our `sid` where it has `client_id`, plus `nbf`. */
const REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid"];

export type TokenErrorCode = "token_expired" | "token_invalid";

/**
 * The one error every access-token failure throws. The code says only whether a refresh may
 * help (`token_expired`) or not (`token_invalid`); the message never quotes the token, and the
 * underlying cause is dropped so a logger cannot print the token's claims either.
 */
export class TokenError extends Error {
  constructor(readonly code: TokenErrorCode) {
    super(code === "token_expired" ? "access token expired" : "access token invalid");
    this.name = "TokenError";
  }
}

export interface TokenServiceOptions {
  /** HS256 key, at least 32 bytes (`loadOrCreateSecret`). Copied, so later changes to the array do not matter. */
  secret: Uint8Array;
  /** `iss` written and required. */
  issuer: string;
  /** `aud` written and required. */
  audience: string;
  /** Lifetime of an access token. Default 900 (15 minutes). */
  accessTtlSeconds?: number;
  /** Leeway for clocks that disagree, applied to `nbf`, `exp` and `iat`. Default 5. */
  clockToleranceSeconds?: number;
  /** Milliseconds since the epoch. Default `Date.now`; tests move time with it. */
  now?: () => number;
}

export interface AccessTokenSubject {
  userId: UserId;
  sessionId: SessionId;
  username: string;
  isAdmin: boolean;
}

export interface IssuedAccessToken {
  token: string;
  /** Milliseconds since the epoch (whole seconds, as in `exp`). */
  expiresAt: number;
  /** The token's `jti`. */
  jti: string;
}

/** The verified claims of an access token, under their JWT names; times in seconds (NumericDate). */
export interface AccessClaims {
  sub: UserId;
  sid: SessionId;
  /** The username when the token was issued. */
  name: string;
  /** False when the claim is absent: it is written only for admins. */
  adm: boolean;
  jti: string;
  iat: number;
  exp: number;
}

/**
 * Issues and verifies access tokens for one server (or one cluster sharing the secret). It
 * exists so that the algorithm allow-list, the audience, the issuer, the `typ` and the clock
 * live in one place, and every route and the socket handshake verify tokens the same way
 * (RFC 8725 §3.1, §3.8, §3.9, §3.11).
 */
export class TokenService {
  /**
   * The secret imported once as an HMAC key: jose imports a raw Uint8Array again for every
   * token signed or checked, which cost a login more of the event loop than the signature.
   */
  readonly #secret: Promise<webcrypto.CryptoKey>;
  readonly #issuer: string;
  readonly #audience: string;
  readonly #ttl: number;
  readonly #tolerance: number;
  readonly #now: () => number;

  constructor(options: TokenServiceOptions) {
    const { secret, issuer, audience } = options;
    const ttl = options.accessTtlSeconds ?? 900;
    const tolerance = options.clockToleranceSeconds ?? 5;
    if (!(secret instanceof Uint8Array)) throw new TypeError("secret must be a Uint8Array");
    if (secret.byteLength < MIN_SECRET_BYTES) {
      throw new RangeError(`secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    if (typeof issuer !== "string" || issuer === "") throw new TypeError("issuer must be a non-empty string");
    if (typeof audience !== "string" || audience === "") {
      throw new TypeError("audience must be a non-empty string");
    }
    if (!Number.isSafeInteger(ttl) || ttl < 1) {
      throw new RangeError("accessTtlSeconds must be an integer >= 1");
    }
    if (!Number.isSafeInteger(tolerance) || tolerance < 0) {
      throw new RangeError("clockToleranceSeconds must be an integer >= 0");
    }
    this.#secret = webcrypto.subtle.importKey(
      "raw",
      new Uint8Array(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    this.#issuer = issuer;
    this.#audience = audience;
    this.#ttl = ttl;
    this.#tolerance = tolerance;
    this.#now = options.now ?? Date.now;
  }

  async issueAccessToken(subject: AccessTokenSubject): Promise<IssuedAccessToken> {
    const iat = Math.floor(this.#now() / 1000);
    const exp = iat + this.#ttl;
    const jti = randomBytes(16).toString("base64url");
    const token = await new SignJWT({
      sid: subject.sessionId,
      name: subject.username,
      ...(subject.isAdmin ? { adm: true } : {}),
    })
      .setProtectedHeader({ alg: ALGORITHM, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.#issuer)
      .setAudience(this.#audience)
      .setSubject(subject.userId)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(await this.#secret);
    return { token, expiresAt: exp * 1000, jti };
  }

  /** Throws `TokenError` for anything but a valid, current access token from this issuer. */
  async verifyAccessToken(token: string): Promise<AccessClaims> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.#secret, {
        algorithms: [ALGORITHM],
        issuer: this.#issuer,
        audience: this.#audience,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance: this.#tolerance,
        // A token older than the lifetime is expired even if its `exp` says otherwise, so
        // shortening accessTtlSeconds takes effect at once.
        maxTokenAge: this.#ttl,
        currentDate: new Date(this.#now()),
      }));
    } catch (err) {
      throw new TokenError(err instanceof errors.JWTExpired ? "token_expired" : "token_invalid");
    }
    const { sub, sid, name, adm, jti, iat, exp } = payload;
    if (
      typeof sub !== "string" ||
      sub === "" ||
      typeof sid !== "string" ||
      sid === "" ||
      typeof name !== "string" ||
      typeof jti !== "string" ||
      jti === "" ||
      (adm !== undefined && typeof adm !== "boolean") ||
      typeof iat !== "number" ||
      typeof exp !== "number"
    ) {
      throw new TokenError("token_invalid");
    }
    return { sub: sub as UserId, sid: sid as SessionId, name, adm: adm === true, jti, iat, exp };
  }
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * A refresh token: 256 random bits, base64url, behind `prt_`. Store only `hash`. A plain
 * SHA-256 is enough for a value with 256 bits of entropy; salts and slow hashes are for secrets
 * people choose (OWASP Password Storage Cheat Sheet).
 */
export function newRefreshToken(): { token: string; hash: string } {
  const token = REFRESH_TOKEN_PREFIX + randomBytes(32).toString("base64url");
  return { token, hash: hashRefreshToken(token) };
}

/** SHA-256 of the whole token, lowercase hex: the storage key of a refresh token. */
export function hashRefreshToken(token: string): string {
  return sha256Hex(token);
}

/** Crockford's base32 (no I, L, O or U): nothing to misread when a code is read aloud or typed. */
const CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const INVITE_GROUPS = 4;
const INVITE_GROUP_LENGTH = 4;

/**
 * An invite code such as `7KQM-2XWD-H9RT-C4VB`: 16 symbols of 5 bits, 80 random bits, to be read
 * out or typed on a phone. Store only `hash`; registration attempts are rate-limited.
 */
export function newInviteCode(): { code: string; hash: string } {
  // 256 is a multiple of 32, so `byte & 31` is uniform.
  const bytes = randomBytes(INVITE_GROUPS * INVITE_GROUP_LENGTH);
  const symbols = Array.from(bytes, (b) => CROCKFORD_ALPHABET.charAt(b & 31)).join("");
  const groups: string[] = [];
  for (let i = 0; i < symbols.length; i += INVITE_GROUP_LENGTH) {
    groups.push(symbols.slice(i, i + INVITE_GROUP_LENGTH));
  }
  const code = groups.join("-");
  return { code, hash: hashInviteCode(code) };
}

/**
 * The canonical form of a typed invite code: NFKC (full-width forms from phone keyboards),
 * uppercase, no dashes or spaces, and Crockford's decoding aliases: I and L read as 1, O as 0.
 */
export function normalizeInviteCode(code: string): string {
  return code.normalize("NFKC").toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
}

/** SHA-256 hex of `normalizeInviteCode(code)`, so `7kqm 2xwd h9rt c4vb` finds the same invite. */
export function hashInviteCode(code: string): string {
  return sha256Hex(normalizeInviteCode(code));
}

export type SecretFileErrorCode = "secret_file_too_short";

/** Why `loadOrCreateSecret` refused a secret file it found; the server cannot start without one. */
export class SecretFileError extends Error {
  constructor(readonly code: SecretFileErrorCode) {
    super(`the token secret file holds fewer than ${MIN_SECRET_BYTES} bytes`);
    this.name = "SecretFileError";
  }
}

/**
 * The token-signing secret kept in the data dir: read `file`, or create it with 32 random bytes
 * when it does not exist. The file is written under a temporary name (opened with `wx` and mode
 * 0600) and published with link(2), which fails if the name exists: when two processes start
 * together exactly one secret wins, and nobody ever reads a half-written file. A file readable
 * by group or others has its mode tightened to 0600; one shorter than 32 bytes is refused with
 * `SecretFileError` (`secret_file_too_short`) rather than used or replaced, since replacing it
 * would sign everyone out of every server sharing it.
 */
export async function loadOrCreateSecret(file: string): Promise<Uint8Array> {
  try {
    return await readSecret(file);
  } catch (err) {
    if (!isErrnoException(err, "ENOENT")) throw err;
  }
  await publishNewSecret(file);
  return readSecret(file);
}

async function readSecret(file: string): Promise<Uint8Array> {
  const handle = await open(file, "r");
  try {
    const { mode } = await handle.stat();
    // Windows has no group/other bits to tighten.
    if (process.platform !== "win32" && (mode & 0o077) !== 0) await handle.chmod(0o600);
    const bytes = await handle.readFile();
    if (bytes.byteLength < MIN_SECRET_BYTES) throw new SecretFileError("secret_file_too_short");
    return new Uint8Array(bytes);
  } finally {
    await handle.close();
  }
}

async function publishNewSecret(file: string): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temporary, "wx", 0o600);
  try {
    try {
      await handle.writeFile(randomBytes(MIN_SECRET_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temporary, file);
  } catch (err) {
    // EEXIST: another process published its secret first; that one is read and used.
    if (!isErrnoException(err, "EEXIST")) throw err;
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

function isErrnoException(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
