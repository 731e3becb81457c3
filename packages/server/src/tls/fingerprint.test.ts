import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fingerprintSha256 } from "./fingerprint.js";
import { ensureTlsMaterial, type TlsMaterial } from "./local-ca.js";

let root: string;
let material: TlsMaterial;

before(async () => {
  root = await mkdtemp(join(os.tmpdir(), "parley-fingerprint-"));
  material = await ensureTlsMaterial({ dataDir: root, hostnames: ["localhost"], ipAddresses: [] });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("fingerprintSha256", () => {
  it("is the SHA-256 of the DER certificate as uppercase hex pairs joined by colons", () => {
    const der = new X509Certificate(material.caCertPem).raw;
    const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
    const expected = hex.match(/../g)?.join(":");
    assert.equal(fingerprintSha256(material.caCertPem), expected);
    assert.match(fingerprintSha256(material.caCertPem), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it("fingerprints the first certificate of a chain", () => {
    assert.equal(
      fingerprintSha256(material.certPem),
      fingerprintSha256(material.certPem.split(material.caCertPem)[0] ?? ""),
    );
    assert.notEqual(fingerprintSha256(material.certPem), fingerprintSha256(material.caCertPem));
  });

  it("throws on text that holds no certificate", () => {
    assert.throws(() => fingerprintSha256("not a certificate"));
  });
});
