import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { checkAnnouncement } from "../../packages/cli/src/server-trust.js";
import { ensureTlsMaterial, type TlsMaterial } from "../../packages/server/src/tls/local-ca.js";

// `parley discover --check` on loopback: what it says of a server that holds a key of the
// announced CA, of one that presents another CA, of an impostor that sends the announced CA's
// (public) certificate above a leaf of its own, and of an address nobody answers on. The same
// check runs against a real server over mDNS in cli-chat-discover.test.ts.

let dir: string;
let real: TlsMaterial;
let other: TlsMaterial;
const servers: Server[] = [];

async function serve(cert: string, key: string): Promise<URL> {
  const server = createServer({ cert, key }, (_req, res) => res.end("nothing here"));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "parley-check-"));
  const names = { hostnames: ["localhost"], ipAddresses: ["127.0.0.1"] };
  real = await ensureTlsMaterial({ dataDir: join(dir, "real"), ...names });
  other = await ensureTlsMaterial({ dataDir: join(dir, "other"), ...names });
});

after(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

test("a server holding a key of the announced CA is verified", async () => {
  const url = await serve(real.certPem, real.keyPem);
  assert.deepEqual(await checkAnnouncement(url, real.caFingerprintSha256, 5000), {
    status: "verified",
    presented: real.caFingerprintSha256,
    detail: null,
  });
  const silent = await checkAnnouncement(url, null, 5000);
  assert.deepEqual([silent.status, silent.presented], ["not_announced", real.caFingerprintSha256]);
});

test("a server presenting another CA than announced differs", async () => {
  const url = await serve(other.certPem, other.keyPem);
  const check = await checkAnnouncement(url, real.caFingerprintSha256, 5000);
  assert.deepEqual([check.status, check.presented], ["differs", other.caFingerprintSha256]);
});

test("an impostor sending the announced CA's certificate above its own leaf differs", async () => {
  // The CA certificate is public (/ca.crt): anyone can send it. Only the CA's key can certify a leaf.
  const ownLeaf = other.certPem.slice(0, other.certPem.indexOf(other.caCertPem));
  assert.ok(ownLeaf.includes("BEGIN CERTIFICATE"), "the chain starts with the leaf");
  const url = await serve(ownLeaf + real.caCertPem, other.keyPem);
  const check = await checkAnnouncement(url, real.caFingerprintSha256, 5000);
  assert.equal(check.status, "differs", JSON.stringify(check));
});

test("an impostor whose own leaf names the announced CA as its issuer differs", async () => {
  // The leaf claims the real CA's name and key id, so the chain it sends links up to the real
  // CA's certificate; but the signature on it is the impostor's, which the verified handshake
  // rejects.
  x509.cryptoProvider.set(webcrypto);
  const realCa = new x509.X509Certificate(real.caCertPem);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const impostorKeys = (await webcrypto.subtle.generateKey(alg, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const caKeyId = realCa.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  assert.ok(caKeyId, "the real CA has a subject key identifier");
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "01",
    subject: "CN=localhost",
    issuer: realCa.subject,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: leafKeys.publicKey,
    signingKey: impostorKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }]),
      new x509.AuthorityKeyIdentifierExtension(caKeyId),
    ],
  });
  const key = x509.PemConverter.encode(
    await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey),
    "PRIVATE KEY",
  );
  const url = await serve(`${leaf.toString("pem")}\n${real.caCertPem}`, key);
  const check = await checkAnnouncement(url, real.caFingerprintSha256, 5000);
  assert.deepEqual([check.status, check.presented], ["differs", real.caFingerprintSha256]);
  assert.match(check.detail ?? "", /does not vouch for it/);
});

test("an address nobody answers on is unreachable", async () => {
  const url = await serve(real.certPem, real.keyPem);
  const port = url.port;
  const server = servers.pop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  const check = await checkAnnouncement(new URL(`https://127.0.0.1:${port}`), real.caFingerprintSha256, 2000);
  assert.deepEqual([check.status, check.presented], ["unreachable", null]);
  assert.match(check.detail ?? "", /ECONNREFUSED/);
});
