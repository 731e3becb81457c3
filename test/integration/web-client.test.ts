import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request, startTestServer, type TestServer } from "./support/harness.js";

// How the server serves the browser client (packages/web/dist, or PARLEY_WEB_DIR): index.html
// never cached, content-hashed assets immutable, only files present at start get a route, the
// API's JSON 404 for anything else, and the strict CSP on every page. A fixture directory stands
// in for the build so this runs before (and without) the Vite build; test/e2e drives the real one.

describe("web client serving", () => {
  let dir: string;
  let ts: TestServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "parley-web-"));
    await mkdir(join(dir, "assets"));
    await writeFile(
      join(dir, "index.html"),
      '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="app"></div></body></html>',
    );
    await writeFile(join(dir, "assets", "index-abc123.js"), "console.log('parley');\n");
    await writeFile(join(dir, "favicon.svg"), '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
    await writeFile(join(dir, ".secret"), "not to be served");
    ts = await startTestServer({ webDir: dir });
  });
  after(async () => {
    await ts?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves index.html at / with no-cache, the strict CSP and no inline allowance", async () => {
    const res = await request(ts, "GET", "/");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/html/);
    assert.match(res.text, /<div id="app">/);
    assert.equal(res.headers["cache-control"], "no-cache");
    const csp = String(res.headers["content-security-policy"]);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.ok(!csp.includes("unsafe-"), csp);
  });

  it("serves content-hashed assets as immutable, with a validator", async () => {
    const res = await request(ts, "GET", "/assets/index-abc123.js");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /javascript/);
    assert.equal(res.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.equal(typeof res.headers.etag, "string");
    const again = await request(ts, "GET", "/assets/index-abc123.js", {
      headers: { "if-none-match": String(res.headers.etag) },
    });
    assert.equal(again.status, 304);
  });

  it("answers the API's JSON 404 for unknown paths, dotfiles and traversal attempts", async () => {
    for (const path of [
      "/assets/missing.js",
      "/.secret",
      "/assets/../.secret",
      "/%2e%2e/etc/passwd",
      "/nope",
    ]) {
      const res = await request<{ code: string }>(ts, "GET", path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.code, "not_found", path);
      assert.ok(!res.text.includes("not to be served"), path);
    }
  });

  it("keeps the API answering under the web client's routes", async () => {
    const res = await request<{ name: string }>(ts, "GET", "/api/info");
    assert.equal(res.status, 200);
    assert.equal(res.body.name, "parley");
  });
});

describe("web client not built", () => {
  it("shows a placeholder page at / that says how to build the client", async () => {
    const empty = await mkdtemp(join(tmpdir(), "parley-web-empty-"));
    const ts = await startTestServer({ webDir: empty });
    try {
      const res = await request(ts, "GET", "/");
      assert.equal(res.status, 200);
      assert.match(res.text, /npm run build|npm start/);
      assert.ok(ts.logs.some((l) => l.includes("browser client is not built")));
    } finally {
      await ts.stop();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
