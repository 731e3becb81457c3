// Real HTTPS on an ephemeral port of 127.0.0.1, with the generated CA and tlsServerOptions.
// Every connection goes to loopback; the server is closed at the end.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { ensureTlsMaterial, type TlsMaterial } from "./local-ca.js";
import { TLS_CIPHERS, tlsServerOptions } from "./server-options.js";

let root: string;
let material: TlsMaterial;
let server: https.Server;
let port: number;
const clientErrors: NodeJS.ErrnoException[] = [];

before(async () => {
  root = await mkdtemp(join(os.tmpdir(), "parley-https-"));
  material = await ensureTlsMaterial({ dataDir: root, hostnames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  server = https.createServer(tlsServerOptions(material), (_req, res) => res.end("parley"));
  server.on("tlsClientError", (error: NodeJS.ErrnoException) => clientErrors.push(error));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(root, { recursive: true, force: true });
});

function get(options: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path: "/", agent: false, ...options }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
  });
}

interface Handshake {
  protocol: string | null;
  cipher: string;
}

function handshake(options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ...options }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.on("error", reject);
  });
}

/** Waits for the server's side of a refused handshake to be reported. */
async function nextServerError(since: number): Promise<NodeJS.ErrnoException> {
  for (let i = 0; i < 100 && clientErrors.length <= since; i++) await new Promise((r) => setTimeout(r, 10));
  const error = clientErrors[since];
  assert.ok(error, "the server reported the refused handshake");
  return error;
}

describe("tlsServerOptions", () => {
  it("requires TLS 1.2 or later, in the server's cipher order", () => {
    const options = tlsServerOptions(material);
    assert.equal(options.minVersion, "TLSv1.2");
    assert.equal(options.honorCipherOrder, true);
    assert.equal(options.cert, material.certPem);
    assert.equal(options.key, material.keyPem);
    assert.equal(options.ciphers, TLS_CIPHERS);
  });

  it("lists only forward-secret AEAD suites", () => {
    for (const suite of TLS_CIPHERS.split(":")) {
      const tls13 = suite.startsWith("TLS_");
      assert.ok(tls13 || suite.startsWith("ECDHE-"), `${suite} has ECDHE key exchange`);
      assert.match(suite, /GCM|CHACHA20-POLY1305|CHACHA20_POLY1305/, `${suite} is AEAD`);
    }
    assert.ok(TLS_CIPHERS.includes("TLS_AES_128_GCM_SHA256"), "TLS 1.3 stays enabled");
  });
});

describe("HTTPS with the local CA", () => {
  it("serves a client that trusts the CA and asks for localhost", async () => {
    assert.equal(await get({ ca: material.caCertPem, servername: "localhost" }), "parley");
  });

  it("serves a client that trusts the CA and connects by IP address", async () => {
    // No servername: Node then checks 127.0.0.1 against the certificate's IP SANs.
    assert.equal(await get({ ca: material.caCertPem }), "parley");
  });

  it("negotiates TLS 1.3 by default and an ECDHE AEAD suite under TLS 1.2", async () => {
    const modern = await handshake({ ca: material.caCertPem });
    assert.equal(modern.protocol, "TLSv1.3");
    const legacy = await handshake({ ca: material.caCertPem, maxVersion: "TLSv1.2" });
    assert.equal(legacy.protocol, "TLSv1.2");
    assert.equal(legacy.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  });

  it("refuses a client limited to TLS 1.1", async () => {
    const since = clientErrors.length;
    await assert.rejects(
      // SECLEVEL=0 lets this client's OpenSSL actually offer TLS 1.1, so the refusal is the server's.
      handshake({
        ca: material.caCertPem,
        minVersion: "TLSv1",
        maxVersion: "TLSv1.1",
        ciphers: "DEFAULT:@SECLEVEL=0",
      }),
      { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" },
    );
    assert.equal((await nextServerError(since)).code, "ERR_SSL_UNSUPPORTED_PROTOCOL");
  });

  it("refuses a TLS 1.2 client that offers only CBC suites", async () => {
    const since = clientErrors.length;
    await assert.rejects(
      handshake({
        ca: material.caCertPem,
        maxVersion: "TLSv1.2",
        ciphers: "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA",
      }),
      { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" },
    );
    assert.equal((await nextServerError(since)).code, "ERR_SSL_NO_SHARED_CIPHER");
  });

  it("is refused by a client that does not trust the CA", async () => {
    await assert.rejects(get({ servername: "localhost" }), { code: "SELF_SIGNED_CERT_IN_CHAIN" });
  });

  it("is refused by a client that asks for a name the certificate does not hold", async () => {
    await assert.rejects(get({ ca: material.caCertPem, servername: "example.com" }), {
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
    });
  });
});
