import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { connect } from "node:tls";
import { promisify } from "node:util";
import { startTestServer, type TestServer } from "./support/harness.js";

// Issue 15: the server's TLS configuration (generated local CA) checked from outside by Debian's
// sslscan on loopback. scripts/ensure-services.sh (run before `npm test`) installs it.
const run = promisify(execFile);

async function haveSslscan(): Promise<boolean> {
  try {
    await run("sslscan", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

const available = await haveSslscan();
const required = process.env.PARLEY_REQUIRE_SERVICES === "1";
const skip = available ? false : "sslscan is not installed (scripts/ensure-services.sh installs it)";

describe("TLS configuration seen by sslscan", { skip: required ? false : skip }, () => {
  let ts: TestServer;
  let xml = "";
  before(async () => {
    assert.ok(available, "PARLEY_REQUIRE_SERVICES=1 but sslscan is not installed");
    ts = await startTestServer();
    const port = new URL(ts.url).port;
    // Asynchronous on purpose: the server runs in this process and must keep answering.
    xml = (await run("sslscan", ["--no-colour", "--xml=-", `127.0.0.1:${port}`], { timeout: 180_000 }))
      .stdout;
  });
  after(() => ts?.stop());

  const protocol = (type: string, version: string) =>
    new RegExp(`<protocol type="${type}" version="${version.replace(".", "\\.")}" enabled="(\\d)"`).exec(
      xml,
    )?.[1];

  test("offers TLS 1.2 and 1.3 only: no SSLv2, SSLv3, TLS 1.0 or 1.1", () => {
    assert.equal(protocol("ssl", "2"), "0");
    assert.equal(protocol("ssl", "3"), "0");
    assert.equal(protocol("tls", "1.0"), "0");
    assert.equal(protocol("tls", "1.1"), "0");
    assert.equal(protocol("tls", "1.2"), "1");
    assert.equal(protocol("tls", "1.3"), "1");
  });

  test("accepts only strong AEAD ciphers with forward secrecy", () => {
    const ciphers = [
      ...xml.matchAll(
        /<cipher status="(\w+)" sslversion="([^"]+)" bits="(\d+)" cipher="([^"]+)"[^>]* strength="(\w+)"/g,
      ),
    ];
    assert.ok(ciphers.length > 0, "sslscan listed the accepted ciphers");
    for (const [, , version, bits, name, strength] of ciphers) {
      const what = `${version} ${name}`;
      assert.ok(Number(bits) >= 128, `${what}: ${bits} bits`);
      assert.ok(strength === "strong" || strength === "acceptable", `${what}: ${strength}`);
      assert.match(name as string, /GCM|CHACHA20-POLY1305|CHACHA20_POLY1305/, `${what}: not an AEAD cipher`);
      assert.doesNotMatch(name as string, /RC4|DES|NULL|EXP|anon|MD5|CBC|PSK|SRP/, what);
      if (version === "TLSv1.2") assert.match(name as string, /^ECDHE-/, `${what}: no forward secrecy`);
    }
  });

  test("has no insecure renegotiation and no Heartbleed", () => {
    assert.match(xml, /<renegotiation supported="0"|<renegotiation supported="1" secure="1"/);
    assert.doesNotMatch(xml, /<heartbleed [^>]*vulnerable="1"/);
  });

  test("presents an unexpired leaf issued by the local CA, which verifies as a chain for localhost", async () => {
    assert.match(xml, /<expired>false<\/expired>/);
    assert.match(xml, /<self-signed>false<\/self-signed>/);
    const ca = new X509Certificate(ts.ca as string);
    const issuer = /<issuer><!\[CDATA\[(.*?)\]\]><\/issuer>/.exec(xml)?.[1];
    assert.equal(
      `CN=${issuer}`,
      ca.subject.split("\n").find((l) => l.startsWith("CN=")),
    );
    const port = Number(new URL(ts.url).port);
    const peer = await new Promise<{ authorized: boolean; error: string | null; issuer: string }>(
      (resolve, reject) => {
        const socket = connect(
          { host: "127.0.0.1", port, servername: "localhost", ca: ts.ca as string },
          () => {
            const cert = socket.getPeerX509Certificate();
            resolve({
              authorized: socket.authorized,
              error: socket.authorizationError ? String(socket.authorizationError) : null,
              issuer: cert?.checkIssued(ca) ? "local CA" : "other",
            });
            socket.end();
          },
        );
        socket.once("error", reject);
      },
    );
    assert.deepEqual(peer, { authorized: true, error: null, issuer: "local CA" });
  });
});
