import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeJwt, decodeProtectedHeader, type JWTPayload, SignJWT } from "jose";
import { asSessionId, asUserId } from "./ids.js";
import {
  hashInviteCode,
  hashRefreshToken,
  loadOrCreateSecret,
  newInviteCode,
  newRefreshToken,
  normalizeInviteCode,
  TokenError,
  type TokenErrorCode,
  TokenService,
  type TokenServiceOptions,
} from "./tokens.js";

const SECRET = new Uint8Array(32).fill(7);
const ISSUER = "https://parley.test";
const AUDIENCE = "parley";
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const SUBJECT = {
  userId: asUserId("u_alice"),
  sessionId: asSessionId("s_1"),
  username: "alice",
  isAdmin: false,
};

function service(options: Partial<TokenServiceOptions> = {}, at = T0): TokenService {
  return new TokenService({ secret: SECRET, issuer: ISSUER, audience: AUDIENCE, now: () => at, ...options });
}

async function rejectsWith(promise: Promise<unknown>, code: TokenErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof TokenError);
    assert.equal(err.code, code);
    return true;
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Valid claims, as `issueAccessToken` writes them, for hand-made tokens. */
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = Math.floor(T0 / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "u_alice",
    sid: "s_1",
    name: "alice",
    iat,
    nbf: iat,
    exp: iat + 900,
    jti: "AAAAAAAAAAAAAAAAAAAAAA",
    ...overrides,
  } as JWTPayload;
}

function sign(
  payload: JWTPayload,
  header: { alg: string; typ?: string } = { alg: "HS256", typ: "at+jwt" },
  key: Uint8Array = SECRET,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

describe("TokenService", () => {
  it("throws RangeError for a secret shorter than 32 bytes", () => {
    assert.throws(() => service({ secret: new Uint8Array(31) }), RangeError);
  });

  it("throws TypeError for a secret that is not bytes", () => {
    assert.throws(() => service({ secret: "x".repeat(32) as unknown as Uint8Array }), TypeError);
  });

  it("throws for an empty issuer or audience and an impossible lifetime", () => {
    assert.throws(() => service({ issuer: "" }), TypeError);
    assert.throws(() => service({ audience: "" }), TypeError);
    assert.throws(() => service({ accessTtlSeconds: 0 }), RangeError);
    assert.throws(() => service({ clockToleranceSeconds: -1 }), RangeError);
  });

  it("keeps its own copy of the secret", async () => {
    const secret = new Uint8Array(32).fill(9);
    const tokens = service({ secret });
    const { token } = await tokens.issueAccessToken(SUBJECT);
    secret.fill(0);
    await tokens.verifyAccessToken(token);
  });
});

describe("issueAccessToken and verifyAccessToken", () => {
  it("round-trips every claim", async () => {
    const tokens = service();
    const issued = await tokens.issueAccessToken(SUBJECT);
    const verified = await tokens.verifyAccessToken(issued.token);
    const iat = Math.floor(T0 / 1000);
    assert.deepEqual(verified, {
      sub: SUBJECT.userId,
      sid: SUBJECT.sessionId,
      name: "alice",
      adm: false,
      jti: issued.jti,
      iat,
      exp: iat + 900,
    });
    assert.equal(issued.expiresAt, (iat + 900) * 1000);
  });

  it("writes the RFC 9068 header and the registered claims", async () => {
    const { token, jti } = await service().issueAccessToken(SUBJECT);
    assert.deepEqual(decodeProtectedHeader(token), { alg: "HS256", typ: "at+jwt" });
    const iat = Math.floor(T0 / 1000);
    assert.deepEqual(decodeJwt(token), {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "u_alice",
      sid: "s_1",
      name: "alice",
      iat,
      nbf: iat,
      exp: iat + 900,
      jti,
    });
    assert.match(jti, /^[A-Za-z0-9_-]{22}$/);
  });

  it("writes adm only for admins", async () => {
    const tokens = service();
    const { token } = await tokens.issueAccessToken({ ...SUBJECT, isAdmin: true });
    assert.equal(decodeJwt(token).adm, true);
    assert.equal((await tokens.verifyAccessToken(token)).adm, true);
  });

  it("gives every token its own jti", async () => {
    const tokens = service();
    const a = await tokens.issueAccessToken(SUBJECT);
    const b = await tokens.issueAccessToken(SUBJECT);
    assert.notEqual(a.jti, b.jti);
  });

  it("honours accessTtlSeconds", async () => {
    const { token, expiresAt } = await service({ accessTtlSeconds: 60 }).issueAccessToken(SUBJECT);
    assert.equal(expiresAt, T0 + 60_000);
    assert.equal(decodeJwt(token).exp, T0 / 1000 + 60);
  });

  it("accepts a hand-made token with the expected claims (the fixtures below are sound)", async () => {
    const verified = await service().verifyAccessToken(await sign(claims()));
    assert.equal(verified.sub, "u_alice");
  });

  it("refuses an unsigned token (alg none)", async () => {
    const { token } = await service().issueAccessToken(SUBJECT);
    const payload = token.split(".")[1];
    const unsigned = `${b64({ alg: "none", typ: "at+jwt" })}.${payload}.`;
    await rejectsWith(service().verifyAccessToken(unsigned), "token_invalid");
  });

  it("refuses a token signed with another secret", async () => {
    const { token } = await service({ secret: new Uint8Array(32).fill(8) }).issueAccessToken(SUBJECT);
    await rejectsWith(service().verifyAccessToken(token), "token_invalid");
  });

  it("refuses another HMAC algorithm with the right secret", async () => {
    await rejectsWith(
      service().verifyAccessToken(await sign(claims(), { alg: "HS512", typ: "at+jwt" })),
      "token_invalid",
    );
  });

  it("refuses a tampered payload", async () => {
    const { token } = await service().issueAccessToken(SUBJECT);
    const [header, , signature] = token.split(".");
    const forged = `${header}.${b64({ ...decodeJwt(token), adm: true })}.${signature}`;
    await rejectsWith(service().verifyAccessToken(forged), "token_invalid");
  });

  it("refuses a token from another issuer", async () => {
    const { token } = await service({ issuer: "https://elsewhere.test" }).issueAccessToken(SUBJECT);
    await rejectsWith(service().verifyAccessToken(token), "token_invalid");
  });

  it("refuses a token for another audience", async () => {
    const { token } = await service({ audience: "someone-else" }).issueAccessToken(SUBJECT);
    await rejectsWith(service().verifyAccessToken(token), "token_invalid");
  });

  it("refuses a token whose typ is not at+jwt", async () => {
    await rejectsWith(
      service().verifyAccessToken(await sign(claims(), { alg: "HS256", typ: "JWT" })),
      "token_invalid",
    );
    await rejectsWith(service().verifyAccessToken(await sign(claims(), { alg: "HS256" })), "token_invalid");
  });

  it("says token_expired once exp and the clock tolerance have passed", async () => {
    const { token } = await service().issueAccessToken(SUBJECT);
    await rejectsWith(service({}, T0 + 906_000).verifyAccessToken(token), "token_expired");
  });

  it("accepts a token that expired within the clock tolerance", async () => {
    const { token } = await service().issueAccessToken(SUBJECT);
    await service({}, T0 + 904_000).verifyAccessToken(token);
  });

  it("says token_expired for a token older than the current lifetime", async () => {
    const { token } = await service().issueAccessToken(SUBJECT);
    await rejectsWith(
      service({ accessTtlSeconds: 60 }, T0 + 120_000).verifyAccessToken(token),
      "token_expired",
    );
  });

  it("refuses a token that is not yet valid", async () => {
    const { token } = await service({}, T0 + 60_000).issueAccessToken(SUBJECT);
    await rejectsWith(service().verifyAccessToken(token), "token_invalid");
  });

  it("accepts a token issued within the clock tolerance in the future", async () => {
    const { token } = await service({}, T0 + 4_000).issueAccessToken(SUBJECT);
    await service().verifyAccessToken(token);
  });

  for (const claim of ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "name"]) {
    it(`refuses a token without ${claim}`, async () => {
      const payload = claims();
      delete payload[claim];
      await rejectsWith(service().verifyAccessToken(await sign(payload)), "token_invalid");
    });
  }

  it("refuses claims of the wrong type", async () => {
    const wrongTypes: Record<string, unknown>[] = [
      { sid: 1 },
      { sub: "" },
      { name: null },
      { adm: "yes" },
      { jti: 5 },
    ];
    for (const bad of wrongTypes) {
      await rejectsWith(service().verifyAccessToken(await sign(claims(bad))), "token_invalid");
    }
  });

  it("refuses a refresh token presented as an access token", async () => {
    await rejectsWith(service().verifyAccessToken(newRefreshToken().token), "token_invalid");
  });

  it("refuses garbage", async () => {
    const garbage = [
      "",
      "garbage",
      "a.b.c",
      "a.b",
      "...",
      "eyJ.eyJ.",
      `${b64({ alg: "HS256" })}.e30.`,
      "x".repeat(10_000),
    ];
    for (const token of garbage) await rejectsWith(service().verifyAccessToken(token), "token_invalid");
    await rejectsWith(service().verifyAccessToken(42 as unknown as string), "token_invalid");
  });

  it("never puts the token in the error", async () => {
    const { token } = await service().issueAccessToken(SUBJECT);
    const err = await service({}, T0 + 3_600_000)
      .verifyAccessToken(token)
      .catch((e: unknown) => e);
    assert.ok(err instanceof TokenError);
    assert.equal(err.message.includes(token), false);
    assert.equal(String(err.stack).includes(token.split(".")[2] ?? token), false);
    assert.equal(err.cause, undefined);
  });
});

describe("refresh tokens", () => {
  it("are prt_ and 256 random bits in base64url", () => {
    const { token } = newRefreshToken();
    assert.match(token, /^prt_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(newRefreshToken().token, token);
  });

  it("come with the SHA-256 hex of the whole token", () => {
    const { token, hash } = newRefreshToken();
    assert.equal(hash, createHash("sha256").update(token).digest("hex"));
    assert.equal(hashRefreshToken(token), hash);
    assert.match(hash, /^[0-9a-f]{64}$/);
  });
});

describe("invite codes", () => {
  it("are four dash-separated groups of four Crockford base32 symbols", () => {
    for (let i = 0; i < 50; i++) {
      assert.match(newInviteCode().code, /^[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    }
  });

  it("differ from one another", () => {
    const codes = new Set(Array.from({ length: 100 }, () => newInviteCode().code));
    assert.equal(codes.size, 100);
  });

  it("come with the hash of their normalised form", () => {
    const { code, hash } = newInviteCode();
    assert.equal(hash, hashInviteCode(code));
    assert.equal(hash, createHash("sha256").update(code.replaceAll("-", "")).digest("hex"));
  });

  it("hash the same however they are typed", () => {
    const { code, hash } = newInviteCode();
    for (const typed of [
      code.toLowerCase(),
      code.replaceAll("-", ""),
      code.replaceAll("-", " "),
      ` ${code} `,
    ]) {
      assert.equal(hashInviteCode(typed), hash, typed);
    }
  });

  it("read I and L as 1 and O as 0, as Crockford decodes", () => {
    assert.equal(normalizeInviteCode("il0o-OLIi"), "11000111");
    assert.equal(hashInviteCode("ABCD-EFGH-1100-JKMN"), hashInviteCode("abcd-efgh-iloo-jkmn"));
  });

  it("accept full-width forms from phone keyboards", () => {
    assert.equal(normalizeInviteCode("ＡＢＣＤ－１２３４"), "ABCD1234");
  });
});

describe("loadOrCreateSecret", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-secret-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const posix = process.platform !== "win32";

  it("creates a 32-byte secret with mode 0600", async () => {
    const file = join(dir, "create.key");
    const secret = await loadOrCreateSecret(file);
    assert.equal(secret.byteLength, 32);
    if (posix) assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it("returns the same secret on every call", async () => {
    const file = join(dir, "stable.key");
    const first = await loadOrCreateSecret(file);
    assert.deepEqual(await loadOrCreateSecret(file), first);
  });

  it("gives one secret to concurrent first callers and leaves no temporary file", async () => {
    const sub = await mkdtemp(join(dir, "race-"));
    const file = join(sub, "race.key");
    const secrets = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecret(file)));
    for (const s of secrets) assert.deepEqual(s, secrets[0]);
    assert.deepEqual(await readdir(sub), ["race.key"]);
  });

  it("uses an existing file as it is, longer ones included", async () => {
    const file = join(dir, "existing.key");
    const bytes = randomBytes(64);
    await writeFile(file, bytes, { mode: 0o600 });
    assert.deepEqual(await loadOrCreateSecret(file), new Uint8Array(bytes));
  });

  it("tightens a group- or world-readable file to 0600 and uses it", { skip: !posix }, async () => {
    const file = join(dir, "loose.key");
    const bytes = randomBytes(32);
    await writeFile(file, bytes);
    await chmod(file, 0o644);
    assert.deepEqual(await loadOrCreateSecret(file), new Uint8Array(bytes));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it("refuses a file shorter than 32 bytes and leaves it alone", async () => {
    const file = join(dir, "short.key");
    await writeFile(file, randomBytes(16), { mode: 0o600 });
    await assert.rejects(loadOrCreateSecret(file), { code: "secret_file_too_short" });
    assert.equal((await stat(file)).size, 16);
  });

  it("refuses an empty file", async () => {
    const file = join(dir, "empty.key");
    await writeFile(file, "", { mode: 0o600 });
    await assert.rejects(loadOrCreateSecret(file), { code: "secret_file_too_short" });
  });

  it("reports a missing directory instead of creating it", async () => {
    await assert.rejects(loadOrCreateSecret(join(dir, "missing", "x.key")), { code: "ENOENT" });
  });

  it("makes a secret the token service accepts", async () => {
    const secret = await loadOrCreateSecret(join(dir, "service.key"));
    const tokens = service({ secret });
    await tokens.verifyAccessToken((await tokens.issueAccessToken(SUBJECT)).token);
  });
});
