import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import {
  type HttpResult,
  registerUser,
  request,
  STRONG_PASSWORD,
  startTestServer,
  type TestServer,
  uniqueName,
} from "./support/harness.js";

// HTTP-level defences: security headers on every kind of answer, no-store on the API, no CORS,
// the Origin check on the API, TRACE refused, body limits, strict JSON, prototype-poisoning
// bodies, and TLS: HSTS only when on, plain HTTP only with TLS off.

type Err = { code: string };

function assertSecurityHeaders(res: HttpResult, what: string, tls = true): void {
  const h = res.headers;
  const csp = h["content-security-policy"];
  assert.equal(typeof csp, "string", `${what}: no CSP`);
  assert.ok(!String(csp).includes("unsafe-inline"), `${what}: CSP allows unsafe-inline`);
  assert.ok(!String(csp).includes("unsafe-eval"), `${what}: CSP allows unsafe-eval`);
  assert.match(String(csp), /(^|;)\s*frame-ancestors 'none'\s*(;|$)/, `${what}: CSP allows framing`);
  if (tls) assert.match(String(h["strict-transport-security"]), /max-age=\d+/, `${what}: no HSTS`);
  else assert.equal(h["strict-transport-security"], undefined, `${what}: HSTS on plain HTTP`);
  assert.equal(h["referrer-policy"], "no-referrer", what);
  assert.equal(h["x-content-type-options"], "nosniff", what);
  assert.equal(typeof h["permissions-policy"], "string", `${what}: no Permissions-Policy`);
  assert.equal(h["access-control-allow-origin"], undefined, `${what}: CORS header`);
}

describe("HTTP hardening over TLS", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ bruteForceMaxFailures: 1_000_000, accountFreeFailures: 1_000_000 });
  });
  after(async () => {
    await ts?.stop();
  });

  describe("security headers", () => {
    it("are on an API answer, the page, a 404, and error answers", async () => {
      const answers: [string, HttpResult][] = [
        ["GET /api/info", await request(ts, "GET", "/api/info")],
        ["GET /", await request(ts, "GET", "/")],
        ["GET /nope", await request(ts, "GET", "/nope")],
        ["GET /api/me without a token", await request(ts, "GET", "/api/me")],
        ["TRACE /", await request(ts, "TRACE", "/")],
        ["POST /api/login malformed", await request(ts, "POST", "/api/login", { rawBody: "{" })],
      ];
      for (const [what, res] of answers) assertSecurityHeaders(res, what);
    });

    it("mark every /api answer no-store, refusals included", async () => {
      const answers: [string, HttpResult][] = [
        ["GET /api/info", await request(ts, "GET", "/api/info")],
        ["GET /api/me without a token", await request(ts, "GET", "/api/me")],
        ["POST /api/login invalid", await request(ts, "POST", "/api/login", { body: {} })],
        ["GET /api/nope", await request(ts, "GET", "/api/nope")],
      ];
      for (const [what, res] of answers) {
        assert.match(String(res.headers["cache-control"]), /no-store/, what);
      }
    });
  });

  describe("cross-origin requests", () => {
    it("never get an Access-Control-Allow-Origin header, whatever the Origin", async () => {
      for (const origin of ["https://evil.example", ts.url, "null"]) {
        for (const [method, path] of [
          ["GET", "/api/info"],
          ["OPTIONS", "/api/login"],
          ["GET", "/"],
        ] as const) {
          const res = await request(ts, method, path, {
            headers: { origin, "access-control-request-method": "POST" },
          });
          assert.equal(
            res.headers["access-control-allow-origin"],
            undefined,
            `${method} ${path} from ${origin}`,
          );
          assert.equal(res.headers["access-control-allow-credentials"], undefined);
        }
      }
    });

    it("refuses a foreign Origin on /api/login with 403 origin_forbidden, and accepts the server's own", async () => {
      const username = uniqueName("origin");
      await registerUser(ts, username);
      const body = { username, password: STRONG_PASSWORD };
      const foreign = await request<Err>(ts, "POST", "/api/login", {
        body,
        headers: { origin: "https://evil.example" },
      });
      assert.equal(foreign.status, 403);
      assert.equal(foreign.body.code, "origin_forbidden");
      const own = await request(ts, "POST", "/api/login", {
        body,
        headers: { origin: new URL(ts.url).origin },
      });
      assert.equal(own.status, 200, own.text);
    });

    it("treats the same host over plain http as a foreign origin", async () => {
      const res = await request<Err>(ts, "GET", "/api/info", {
        headers: { origin: ts.url.replace(/^https:/, "http:") },
      });
      assert.equal(res.status, 403);
      assert.equal(res.body.code, "origin_forbidden");
    });
  });

  describe("methods and routes", () => {
    for (const path of ["/", "/api/info", "/nope"]) {
      it(`refuses TRACE ${path} with 405 method_not_allowed`, async () => {
        const res = await request<Err>(ts, "TRACE", path);
        assert.equal(res.status, 405);
        assert.equal(res.body.code, "method_not_allowed");
        // HTTP-6: the methods the API's routes take (PUT: /api/blocks, PATCH: /api/files).
        assert.equal(res.headers.allow, "GET, HEAD, POST, PUT, PATCH, DELETE");
      });
    }

    it("answers an unknown route with 404 not_found", async () => {
      for (const path of ["/nope", "/api/nope"]) {
        const res = await request<Err>(ts, "GET", path);
        assert.equal(res.status, 404, path);
        assert.equal(res.body.code, "not_found", path);
      }
    });
  });

  describe("request bodies", () => {
    it("refuses a body over maxBodyBytes with 413 body_too_large", async () => {
      const big = JSON.stringify({ username: "a".repeat(ts.server.config.maxBodyBytes), password: "x" });
      const res = await request<Err>(ts, "POST", "/api/login", { rawBody: big });
      assert.equal(res.status, 413);
      assert.equal(res.body.code, "body_too_large");
    });

    it("refuses malformed JSON with 400 malformed_json", async () => {
      for (const rawBody of ['{"username": "a",', "not json", '{"username":"a" "password":"b"}']) {
        const res = await request<Err>(ts, "POST", "/api/login", { rawBody });
        assert.equal(res.status, 400, rawBody);
        assert.equal(res.body.code, "malformed_json", rawBody);
      }
    });

    it("refuses a form or XML body with 415 unsupported_media_type", async () => {
      for (const [type, rawBody] of [
        ["application/x-www-form-urlencoded", "username=a&password=b"],
        [
          "multipart/form-data; boundary=x",
          '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\na\r\n--x--',
        ],
        ["application/xml", "<login><username>a</username></login>"],
      ] as const) {
        const res = await request<Err>(ts, "POST", "/api/login", {
          rawBody,
          headers: { "content-type": type },
        });
        assert.equal(res.status, 415, type);
        assert.equal(res.body.code, "unsupported_media_type", type);
      }
    });

    it("refuses a text/plain body (what a cross-site form can send without a preflight) with 415 unsupported_media_type", async () => {
      const res = await request<Err>(ts, "POST", "/api/login", {
        rawBody: '{"username":"a","password":"b"}',
        headers: { "content-type": "text/plain" },
      });
      assert.equal(res.status, 415);
      assert.equal(res.body.code, "unsupported_media_type");
    });

    it("refuses a JSON value of the wrong type with 400 validation_failed instead of coercing it", async () => {
      const username = uniqueName("types");
      await registerUser(ts, username);
      for (const body of [
        { username: 123, password: STRONG_PASSWORD },
        { username, password: ["x"] },
        { username: null, password: STRONG_PASSWORD },
      ]) {
        const res = await request<Err>(ts, "POST", "/api/login", { body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.code, "validation_failed");
      }
      // A numeric-looking name is still a string, and a valid one.
      const numeric = String(Math.floor(Math.random() * 1e9) + 1e9);
      const res = await request(ts, "POST", "/api/register", {
        body: { username: numeric, password: STRONG_PASSWORD },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(
        (
          await request<Err>(ts, "POST", "/api/login", {
            body: { username: Number(numeric), password: STRONG_PASSWORD },
          })
        ).body.code,
        "validation_failed",
      );
    });

    it("does not let __proto__ or constructor.prototype in a body pollute anything", async () => {
      const bodies = [
        '{"username":"nobody1","password":"Whatever-123!","__proto__":{"polluted":"yes","isAdmin":true}}',
        '{"username":"nobody2","password":"Whatever-123!","constructor":{"prototype":{"polluted":"yes"}}}',
        '{"__proto__":{"username":"nobody3","password":"Whatever-123!"}}',
      ];
      for (const rawBody of bodies) {
        const res = await request<Err>(ts, "POST", "/api/login", { rawBody });
        // Processed without the poisoned key (wrong credentials) or refused cleanly; never a 500.
        assert.ok([400, 401].includes(res.status), `${res.status} ${res.text}`);
        assert.ok(["invalid_credentials", "validation_failed", "malformed_json"].includes(res.body.code));
      }
      // The server runs in this process: its prototypes are ours.
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
      assert.equal((await request(ts, "GET", "/healthz")).status, 200);

      // A registration carrying an __proto__ isAdmin does not make an admin.
      const username = uniqueName("proto");
      const reg = await request<{ user: { isAdmin: boolean } }>(ts, "POST", "/api/register", {
        rawBody: JSON.stringify({ username, password: STRONG_PASSWORD }).replace(
          /}$/,
          ',"__proto__":{"isAdmin":true},"isAdmin":true}',
        ),
      });
      assert.equal(reg.status, 201, reg.text);
      assert.equal(reg.body.user.isAdmin, false);
    });
  });

  describe("TLS", () => {
    it("refuses plain HTTP on the TLS port", async () => {
      const url = ts.url.replace(/^https:/, "http:");
      const outcome = await new Promise<string>((resolve) => {
        const req = httpRequest(`${url}/healthz`, { agent: false }, (res) => {
          res.resume();
          resolve(`status ${res.statusCode}`);
        });
        req.on("error", (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
        req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
        req.end();
      });
      assert.notEqual(outcome, "status 200");
    });
  });
});

describe("HTTP hardening with TLS off", () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ tls: "off", host: "127.0.0.1" });
  });
  after(async () => {
    await ts?.stop();
  });

  it("serves plain http on loopback, with every security header but HSTS", async () => {
    assert.match(ts.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(ts.ca, null);
    for (const path of ["/api/info", "/", "/nope"]) {
      const res = await request(ts, "GET", path);
      assertSecurityHeaders(res, `GET ${path}`, false);
    }
    const info = await request<{ caFingerprint: string | null }>(ts, "GET", "/api/info");
    assert.equal(info.body.caFingerprint, null);
    assert.equal((await request<Err>(ts, "GET", "/ca.crt")).body.code, "not_found");
  });

  it("accepts the http origin of itself and refuses a foreign one", async () => {
    const own = await request(ts, "GET", "/api/info", { headers: { origin: ts.url } });
    assert.equal(own.status, 200);
    const foreign = await request<Err>(ts, "GET", "/api/info", {
      headers: { origin: "http://evil.example" },
    });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.code, "origin_forbidden");
  });
});
