import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TlsErrorCode } from "./errors.js";
import { fingerprintSha256 } from "./fingerprint.js";
import { ensureTlsMaterial, type TlsMaterialOptions } from "./local-ca.js";

const DAY_MS = 86_400_000;
const HOSTS = ["localhost", "parley-test", "parley-test.local"];
const IPS = ["127.0.0.1", "::1", "192.168.1.20"];
// File modes mean nothing on Windows.
const posix = process.platform !== "win32";

let root: string;
let dirCount = 0;

before(async () => {
  root = await mkdtemp(join(os.tmpdir(), "parley-tls-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDataDir(): Promise<string> {
  const dir = join(root, `data-${dirCount++}`);
  await mkdir(dir);
  return dir;
}

function options(dataDir: string, extra: Partial<TlsMaterialOptions> = {}): TlsMaterialOptions {
  return { dataDir, hostnames: HOSTS, ipAddresses: IPS, ...extra };
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
}

/** Contents and modification times of every file in `<dataDir>/tls`, to prove nothing changed. */
async function snapshot(dataDir: string): Promise<Record<string, string>> {
  const dir = join(dataDir, "tls");
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const info = await stat(join(dir, name));
    out[name] = `${info.mtimeMs} ${await readFile(join(dir, name), "utf8")}`;
  }
  return out;
}

describe("ensureTlsMaterial", () => {
  it("creates an ECDSA P-256 CA and a leaf on first run, keys 0600 in a 0700 directory", async () => {
    const dataDir = await freshDataDir();
    const material = await ensureTlsMaterial(options(dataDir));

    assert.deepEqual(material.generated, { ca: true, leaf: true });
    assert.equal(material.leafIssueReason, "missing");
    const dir = join(dataDir, "tls");
    assert.deepEqual((await readdir(dir)).sort(), ["ca.crt", "ca.key", "server.crt", "server.key"]);
    if (posix) {
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(dir, "ca.key"))).mode & 0o777, 0o600);
      assert.equal((await stat(join(dir, "server.key"))).mode & 0o777, 0o600);
    }
    assert.equal(await readFile(join(dir, "ca.crt"), "utf8"), material.caCertPem);
    assert.equal(await readFile(join(dir, "server.key"), "utf8"), material.keyPem);

    const ca = new X509Certificate(material.caCertPem);
    assert.equal(ca.ca, true);
    assert.equal(ca.publicKey.asymmetricKeyType, "ec");
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(ca.subject, /^CN=Parley Local CA .+ [0-9a-f]{8}$/m);
    assert.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey), "the CA is self-signed");
    assert.equal(material.caNotAfter.getTime(), Date.parse(ca.validTo));
    const caDays = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / DAY_MS;
    assert.ok(caDays > 3640 && caDays < 3660, `CA valid for ${caDays} days`);
    const caKey = createPrivateKey(await readFile(join(dir, "ca.key"), "utf8"));
    assert.ok(ca.checkPrivateKey(caKey));

    assert.match(material.caFingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(material.caFingerprintSha256, fingerprintSha256(material.caCertPem));
  });

  it("issues a leaf that chains to the CA and names every host and address", async () => {
    const material = await ensureTlsMaterial(options(await freshDataDir()));
    const blocks = pemBlocks(material.certPem);
    assert.equal(blocks.length, 2, "certPem is the leaf, then the CA");
    assert.equal(blocks[1], material.caCertPem);

    const ca = new X509Certificate(material.caCertPem);
    const leaf = new X509Certificate(material.certPem);
    assert.ok(leaf.checkIssued(ca), "issuer name matches the CA");
    assert.ok(leaf.verify(ca.publicKey), "signature verifies with the CA key");
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(material.keyPem)));
    assert.match(material.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(leaf.subject, /^CN=localhost$/m);
    assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1"], "extended key usage is serverAuth only");
    for (const name of HOSTS) assert.equal(leaf.checkHost(name, { subject: "never" }), name);
    for (const ip of IPS) assert.equal(leaf.checkIP(ip), ip);
    assert.equal(leaf.checkHost("example.com"), undefined);
    assert.equal(leaf.checkIP("192.168.1.21"), undefined);

    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / DAY_MS;
    assert.ok(days <= 397, `leaf valid for ${days} days`);
    assert.equal(material.leafNotAfter.getTime(), Date.parse(leaf.validTo));
    // RFC 5280 §4.1.2.2: a positive serial; 16 octets of which the first has its top bit clear.
    assert.match(leaf.serialNumber, /^[4-7][0-9A-F]{31}$/);
    assert.notEqual(leaf.serialNumber, ca.serialNumber);
  });

  it("reuses the CA and the leaf on the next run", async () => {
    const dataDir = await freshDataDir();
    const first = await ensureTlsMaterial(options(dataDir));
    const files = await snapshot(dataDir);
    const second = await ensureTlsMaterial(options(dataDir));

    assert.deepEqual(second.generated, { ca: false, leaf: false });
    assert.equal(second.leafIssueReason, null);
    assert.equal(second.caFingerprintSha256, first.caFingerprintSha256);
    assert.equal(second.certPem, first.certPem);
    assert.equal(second.keyPem, first.keyPem);
    assert.equal(second.leafNotAfter.getTime(), first.leafNotAfter.getTime());
    assert.deepEqual(await snapshot(dataDir), files, "no file was rewritten");
  });

  it("reuses the leaf for a subset of its names, in any case and IPv6 spelling", async () => {
    const dataDir = await freshDataDir();
    await ensureTlsMaterial(options(dataDir));
    const again = await ensureTlsMaterial(
      options(dataDir, { hostnames: ["LOCALHOST", "parley-test.local."], ipAddresses: ["0:0:0:0:0:0:0:1"] }),
    );
    assert.equal(again.leafIssueReason, null);
  });

  it("issues a new leaf from the same CA when the current one expires within renewBeforeDays", async () => {
    const dataDir = await freshDataDir();
    const first = await ensureTlsMaterial(options(dataDir));
    const now = new Date(first.leafNotAfter.getTime() - 10 * DAY_MS);
    const renewed = await ensureTlsMaterial(options(dataDir, { now }));

    assert.deepEqual(renewed.generated, { ca: false, leaf: true });
    assert.equal(renewed.leafIssueReason, "expiring");
    assert.equal(renewed.caFingerprintSha256, first.caFingerprintSha256);
    assert.notEqual(renewed.keyPem, first.keyPem, "a renewed leaf has a new key");
    assert.ok(renewed.leafNotAfter.getTime() > first.leafNotAfter.getTime());
    const leaf = new X509Certificate(renewed.certPem);
    assert.ok(leaf.verify(new X509Certificate(first.caCertPem).publicKey));

    const later = await ensureTlsMaterial(options(dataDir, { now }));
    assert.equal(later.leafIssueReason, null, "the renewed leaf is then reused");
  });

  it("honours a short leafValidityDays and renewBeforeDays", async () => {
    const dataDir = await freshDataDir();
    const now = new Date("2031-03-01T12:00:00Z");
    const first = await ensureTlsMaterial(options(dataDir, { now, leafValidityDays: 2, renewBeforeDays: 1 }));
    const days = (first.leafNotAfter.getTime() - now.getTime()) / DAY_MS;
    assert.ok(days > 1.9 && days <= 2, `leaf expires in ${days} days`);

    const sameDay = await ensureTlsMaterial(
      options(dataDir, {
        now: new Date(now.getTime() + 0.5 * DAY_MS),
        leafValidityDays: 2,
        renewBeforeDays: 1,
      }),
    );
    assert.equal(sameDay.leafIssueReason, null);
    const nextDay = await ensureTlsMaterial(
      options(dataDir, {
        now: new Date(now.getTime() + 1.5 * DAY_MS),
        leafValidityDays: 2,
        renewBeforeDays: 1,
      }),
    );
    assert.equal(nextDay.leafIssueReason, "expiring");
    assert.equal(nextDay.caFingerprintSha256, first.caFingerprintSha256);
  });

  it("issues a new leaf when asked for an address or host name the current one does not name", async () => {
    const dataDir = await freshDataDir();
    const first = await ensureTlsMaterial(options(dataDir));

    const newIp = await ensureTlsMaterial(options(dataDir, { ipAddresses: [...IPS, "10.20.30.40"] }));
    assert.equal(newIp.leafIssueReason, "names");
    assert.equal(newIp.caFingerprintSha256, first.caFingerprintSha256);
    assert.equal(new X509Certificate(newIp.certPem).checkIP("10.20.30.40"), "10.20.30.40");

    const newHost = await ensureTlsMaterial(
      options(dataDir, { hostnames: [...HOSTS, "chat.lab"], ipAddresses: [...IPS, "10.20.30.40"] }),
    );
    assert.equal(newHost.leafIssueReason, "names");
    assert.equal(new X509Certificate(newHost.certPem).checkHost("chat.lab"), "chat.lab");
    assert.equal(newHost.caFingerprintSha256, first.caFingerprintSha256);
  });

  it("ignores IPv6 zone ids in the requested addresses", async () => {
    const material = await ensureTlsMaterial(
      options(await freshDataDir(), { ipAddresses: ["fe80::1%eth0", "fe80::1"] }),
    );
    assert.equal(new X509Certificate(material.certPem).checkIP("fe80::1"), "fe80::1");
  });

  it("issues a new leaf when server.key does not belong to server.crt", async () => {
    const dataDir = await freshDataDir();
    const other = await freshDataDir();
    const first = await ensureTlsMaterial(options(dataDir));
    await ensureTlsMaterial(options(other));
    await copyFile(join(other, "tls", "server.key"), join(dataDir, "tls", "server.key"));

    const again = await ensureTlsMaterial(options(dataDir));
    assert.equal(again.leafIssueReason, "invalid");
    assert.equal(again.caFingerprintSha256, first.caFingerprintSha256);
    assert.ok(new X509Certificate(again.certPem).checkPrivateKey(createPrivateKey(again.keyPem)));
  });

  it("issues a new leaf when server.crt is unreadable or missing", async () => {
    const dataDir = await freshDataDir();
    await ensureTlsMaterial(options(dataDir));
    await writeFile(join(dataDir, "tls", "server.crt"), "not a certificate");
    assert.equal((await ensureTlsMaterial(options(dataDir))).leafIssueReason, "invalid");
    await unlink(join(dataDir, "tls", "server.crt"));
    assert.equal((await ensureTlsMaterial(options(dataDir))).leafIssueReason, "missing");
  });

  it("issues a new leaf when the stored one was signed by another CA", async () => {
    const dataDir = await freshDataDir();
    const other = await freshDataDir();
    const first = await ensureTlsMaterial(options(dataDir));
    await ensureTlsMaterial(options(other));
    for (const name of ["server.crt", "server.key"]) {
      await copyFile(join(other, "tls", name), join(dataDir, "tls", name));
    }
    const again = await ensureTlsMaterial(options(dataDir));
    assert.equal(again.leafIssueReason, "issuer");
    assert.equal(again.caFingerprintSha256, first.caFingerprintSha256);
    assert.ok(new X509Certificate(again.certPem).verify(new X509Certificate(first.caCertPem).publicKey));
  });

  it("never issues a leaf that outlives the CA", async () => {
    const dataDir = await freshDataDir();
    const first = await ensureTlsMaterial(options(dataDir));
    const caNotAfter = first.caNotAfter.getTime();
    const late = await ensureTlsMaterial(options(dataDir, { now: new Date(caNotAfter - 100 * DAY_MS) }));
    assert.equal(late.leafIssueReason, "expiring");
    assert.equal(late.leafNotAfter.getTime(), caNotAfter);
  });

  it("refuses an expired CA with CA_EXPIRED", async () => {
    const dataDir = await freshDataDir();
    const first = await ensureTlsMaterial(options(dataDir));
    const caNotAfter = Date.parse(new X509Certificate(first.caCertPem).validTo);
    await assert.rejects(ensureTlsMaterial(options(dataDir, { now: new Date(caNotAfter + DAY_MS) })), {
      code: TlsErrorCode.CA_EXPIRED,
    });
  });

  it("refuses a corrupted ca.key with CA_CORRUPT and leaves every file as it was", async () => {
    const dataDir = await freshDataDir();
    await ensureTlsMaterial(options(dataDir));
    await writeFile(
      join(dataDir, "tls", "ca.key"),
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    const files = await snapshot(dataDir);

    await assert.rejects(ensureTlsMaterial(options(dataDir)), {
      name: "TlsError",
      code: TlsErrorCode.CA_CORRUPT,
      path: join(dataDir, "tls", "ca.key"),
    });
    // Even a request that would otherwise need a new leaf must not write anything.
    await assert.rejects(ensureTlsMaterial(options(dataDir, { ipAddresses: ["10.9.9.9"] })), {
      code: TlsErrorCode.CA_CORRUPT,
    });
    assert.deepEqual(await snapshot(dataDir), files);
  });

  it("refuses a corrupted ca.crt with CA_CORRUPT and leaves every file as it was", async () => {
    const dataDir = await freshDataDir();
    await ensureTlsMaterial(options(dataDir));
    const caCrt = join(dataDir, "tls", "ca.crt");
    // Change one letter of the subject: still a well-formed certificate, but not the one signed.
    const der = new X509Certificate(await readFile(caCrt, "utf8")).raw;
    const at = der.indexOf("Parley Local CA");
    assert.ok(at > 0);
    der[at] = "Q".charCodeAt(0);
    await writeFile(
      caCrt,
      `-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----\n`,
    );
    assert.doesNotThrow(() => new X509Certificate(der), "the altered certificate still parses");
    const files = await snapshot(dataDir);

    await assert.rejects(ensureTlsMaterial(options(dataDir)), { code: TlsErrorCode.CA_CORRUPT, path: caCrt });
    assert.deepEqual(await snapshot(dataDir), files);

    await writeFile(caCrt, "garbage");
    await assert.rejects(ensureTlsMaterial(options(dataDir)), { code: TlsErrorCode.CA_CORRUPT, path: caCrt });
  });

  it("refuses a ca.key that belongs to another CA with CA_KEY_MISMATCH", async () => {
    const dataDir = await freshDataDir();
    const other = await freshDataDir();
    await ensureTlsMaterial(options(dataDir));
    await ensureTlsMaterial(options(other));
    await copyFile(join(other, "tls", "ca.key"), join(dataDir, "tls", "ca.key"));
    const files = await snapshot(dataDir);

    await assert.rejects(ensureTlsMaterial(options(dataDir)), { code: TlsErrorCode.CA_KEY_MISMATCH });
    assert.deepEqual(await snapshot(dataDir), files);
  });

  it("refuses a CA with only one of its two files, and does not recreate the other", async () => {
    for (const missing of ["ca.key", "ca.crt"]) {
      const dataDir = await freshDataDir();
      await ensureTlsMaterial(options(dataDir));
      await unlink(join(dataDir, "tls", missing));
      const files = await snapshot(dataDir);

      await assert.rejects(ensureTlsMaterial(options(dataDir)), {
        code: TlsErrorCode.CA_INCOMPLETE,
        path: join(dataDir, "tls", missing),
      });
      assert.deepEqual(await snapshot(dataDir), files);
    }
  });

  it("tightens an existing tls directory to 0700", { skip: !posix }, async () => {
    const dataDir = await freshDataDir();
    await mkdir(join(dataDir, "tls"));
    await chmod(join(dataDir, "tls"), 0o755);
    await ensureTlsMaterial(options(dataDir));
    assert.equal((await stat(join(dataDir, "tls"))).mode & 0o777, 0o700);
  });

  it("rejects invalid options before touching the disk", async () => {
    const dataDir = await freshDataDir();
    const cases: [Partial<TlsMaterialOptions>, ErrorConstructor][] = [
      [{ hostnames: [] }, TypeError],
      [{ hostnames: ["under_score"] }, TypeError],
      [{ hostnames: ["-leading.example"] }, TypeError],
      [{ ipAddresses: ["300.1.1.1"] }, TypeError],
      [{ ipAddresses: ["127.1"] }, TypeError],
      [{ ipAddresses: ["localhost"] }, TypeError],
      [{ dataDir: "" }, TypeError],
      [{ now: new Date(Number.NaN) }, TypeError],
      [{ leafValidityDays: 0 }, RangeError],
      [{ leafValidityDays: 398 }, RangeError],
      [{ leafValidityDays: 1.5 }, RangeError],
      [{ renewBeforeDays: -1 }, RangeError],
      [{ leafValidityDays: 20 }, TypeError], // default renewBeforeDays (30) >= 20
      [{ leafValidityDays: 10, renewBeforeDays: 10 }, TypeError],
    ];
    for (const [extra, type] of cases) {
      await assert.rejects(ensureTlsMaterial(options(dataDir, extra)), type, JSON.stringify(extra));
    }
    assert.deepEqual(await readdir(dataDir), []);
  });
});
