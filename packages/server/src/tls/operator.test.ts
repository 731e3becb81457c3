import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TlsErrorCode } from "./errors.js";
import { fingerprintSha256 } from "./fingerprint.js";
import { ensureTlsMaterial, type TlsMaterial } from "./local-ca.js";
import { loadOperatorTls } from "./operator.js";

let root: string;
let mine: TlsMaterial;
let other: TlsMaterial;

async function file(name: string, content: string): Promise<string> {
  const path = join(root, name);
  await writeFile(path, content);
  return path;
}

before(async () => {
  root = await mkdtemp(join(os.tmpdir(), "parley-operator-tls-"));
  // Two unrelated CA + leaf pairs stand in for certificates an operator brings.
  await mkdir(join(root, "a"));
  await mkdir(join(root, "b"));
  mine = await ensureTlsMaterial({ dataDir: join(root, "a"), hostnames: ["chat.lab"], ipAddresses: [] });
  other = await ensureTlsMaterial({ dataDir: join(root, "b"), hostnames: ["chat.lab"], ipAddresses: [] });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("loadOperatorTls", () => {
  it("returns a matching certificate chain and key with the leaf's fingerprint", async () => {
    const certFile = await file("chain.pem", mine.certPem);
    const keyFile = await file("key.pem", mine.keyPem);
    const loaded = await loadOperatorTls(certFile, keyFile);

    assert.equal(loaded.certPem, mine.certPem);
    assert.equal(loaded.keyPem, mine.keyPem);
    assert.equal(loaded.fingerprintSha256, fingerprintSha256(mine.certPem));
    assert.notEqual(loaded.fingerprintSha256, mine.caFingerprintSha256, "the leaf's, not the CA's");
    assert.equal(loaded.notAfter.getTime(), mine.leafNotAfter.getTime());
  });

  it("accepts a key in SEC1 ('EC PRIVATE KEY') form", async () => {
    const sec1 = createPrivateKey(mine.keyPem).export({ format: "pem", type: "sec1" }).toString();
    const loaded = await loadOperatorTls(await file("leaf.pem", mine.certPem), await file("sec1.pem", sec1));
    assert.equal(loaded.keyPem, sec1);
  });

  it("refuses a key that belongs to another certificate with OPERATOR_KEY_MISMATCH", async () => {
    const keyFile = await file("other-key.pem", other.keyPem);
    await assert.rejects(loadOperatorTls(await file("chain2.pem", mine.certPem), keyFile), {
      name: "TlsError",
      code: TlsErrorCode.OPERATOR_KEY_MISMATCH,
      path: keyFile,
    });
  });

  it("refuses a chain whose first certificate is not the server's", async () => {
    const reversed = mine.caCertPem + mine.certPem.replace(mine.caCertPem, "");
    assert.ok(new X509Certificate(reversed).ca, "the file starts with the CA");
    await assert.rejects(
      loadOperatorTls(await file("reversed.pem", reversed), await file("k.pem", mine.keyPem)),
      {
        code: TlsErrorCode.OPERATOR_KEY_MISMATCH,
      },
    );
  });

  it("refuses a missing file with OPERATOR_UNREADABLE", async () => {
    const missing = join(root, "does-not-exist.pem");
    const keyFile = await file("k2.pem", mine.keyPem);
    await assert.rejects(loadOperatorTls(missing, keyFile), {
      code: TlsErrorCode.OPERATOR_UNREADABLE,
      path: missing,
    });
    await assert.rejects(loadOperatorTls(await file("c.pem", mine.certPem), missing), {
      code: TlsErrorCode.OPERATOR_UNREADABLE,
      path: missing,
    });
  });

  it("refuses a certificate file without a certificate with OPERATOR_CERT_INVALID", async () => {
    const certFile = await file("not-a-cert.pem", mine.keyPem);
    await assert.rejects(loadOperatorTls(certFile, await file("k3.pem", mine.keyPem)), {
      code: TlsErrorCode.OPERATOR_CERT_INVALID,
      path: certFile,
    });
  });

  it("refuses a garbage or passphrase-protected key with OPERATOR_KEY_INVALID", async () => {
    const certFile = await file("c2.pem", mine.certPem);
    const encrypted = createPrivateKey(mine.keyPem)
      .export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "secret" })
      .toString();
    for (const content of ["garbage", mine.caCertPem, encrypted]) {
      await assert.rejects(loadOperatorTls(certFile, await file("bad-key.pem", content)), {
        code: TlsErrorCode.OPERATOR_KEY_INVALID,
      });
    }
  });
});
