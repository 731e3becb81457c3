import {
  createPrivateKey,
  type KeyObject,
  X509Certificate as NodeX509,
  randomBytes,
  webcrypto,
} from "node:crypto";
import { chmod, mkdir } from "node:fs/promises";
import { isIP } from "node:net";
import os from "node:os";
import { join } from "node:path";
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata API loaded first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import ipaddr from "ipaddr.js";
import { TlsError, TlsErrorCode } from "./errors.js";
import { readIfExists, replaceFile, writeNewFile } from "./files.js";
import { isValidHostname, normalizeHostname } from "./hostnames.js";

// @peculiar/x509 does the ASN.1; Node's WebCrypto does the keys and signatures.
x509.cryptoProvider.set(webcrypto);

const DAY_MS = 86_400_000;
const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

/**
 * Leaf lifetime cap. Apple platforms reject any TLS server certificate valid for more than 825
 * days, even under a user-installed root (support.apple.com/HT210176), and 398 days is the
 * limit for public roots that browsers may one day extend to private ones; 397 keeps clear of
 * both, measured from the back-dated notBefore.
 */
const MAX_LEAF_VALIDITY_DAYS = 397;
/** Ten years: the CA is what phones trust by hand, so it should outlive the deployment. */
const CA_VALIDITY_DAYS = 3652;
/** Back-date notBefore so a phone whose clock runs a little slow accepts a fresh certificate. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** RFC 5280 Appendix A: ub-common-name is 64 characters. */
const MAX_CN_LENGTH = 64;

const FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  leafCert: "server.crt",
  leafKey: "server.key",
} as const;

export interface TlsMaterialOptions {
  /** The server's data directory; the material lives in `<dataDir>/tls/` (mode 0700). */
  dataDir: string;
  /** DNS names for the leaf's SAN; the first one is also its subject CN. At least one. */
  hostnames: string[];
  /** IPv4/IPv6 addresses for the leaf's SAN. Zone ids ("%eth0") are ignored. */
  ipAddresses: string[];
  /** The current time. Default: `new Date()`. */
  now?: Date;
  /** Lifetime of a newly issued leaf, 1-397. Default: 397. */
  leafValidityDays?: number;
  /** Issue a new leaf when the current one expires within this many days. Default: 30. */
  renewBeforeDays?: number;
}

/** Why a new leaf certificate was issued instead of reusing the stored one. */
export type LeafIssueReason =
  /** server.crt or server.key does not exist. */
  | "missing"
  /** server.crt or server.key cannot be parsed, or the key does not match the certificate. */
  | "invalid"
  /** The stored leaf was not issued by the current CA. */
  | "issuer"
  /** The stored leaf's notBefore is in the future (the clock went back). */
  | "not-yet-valid"
  /** The stored leaf expires within `renewBeforeDays`. */
  | "expiring"
  /** The stored leaf's SAN lacks one of the requested host names or addresses. */
  | "names";

export interface TlsMaterial {
  /** The local CA certificate, for `/ca.crt` and for clients' trust stores. */
  caCertPem: string;
  /** The chain the server presents: the leaf, then the CA. */
  certPem: string;
  /** The leaf's private key, PKCS#8 PEM. */
  keyPem: string;
  /** SHA-256 of the CA certificate, "AB:CD:…", for people to compare on their phones. */
  caFingerprintSha256: string;
  /** When the CA expires; after that every device has to trust a new one. */
  caNotAfter: Date;
  leafNotAfter: Date;
  /** Which parts this call created. A new CA means every client must trust it again. */
  generated: { ca: boolean; leaf: boolean };
  /** Why the leaf was issued by this call, or null when the stored leaf was reused. */
  leafIssueReason: LeafIssueReason | null;
}

/**
 * Loads the local CA and the server's leaf certificate from `<dataDir>/tls/`, creating what is
 * missing. The CA is created once and then only ever read: phones and laptops trust it by
 * hand, so a new CA would silently break every one of them. A CA file that is corrupt, or whose
 * key does not match, is therefore an error (`TlsError`) for the operator to resolve, never a
 * reason to make a new CA. The leaf is cheap and is issued again, by the same CA, whenever it
 * is missing, unusable, close to expiry, or no longer names every requested host and address.
 *
 * The CA carries no name constraints, so it can vouch for any name to the devices that trust
 * it: its key must stay private, hence the 0600 key files in a 0700 directory.
 */
export async function ensureTlsMaterial(options: TlsMaterialOptions): Promise<TlsMaterial> {
  const opts = validateOptions(options);
  const dir = join(opts.dataDir, "tls");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; this one holds private keys.
  await chmod(dir, 0o700);

  let ca = await loadCa(dir);
  const generatedCa = ca === undefined;
  if (ca === undefined) ca = await createCa(dir, opts.now);
  if (ca.notAfter.getTime() <= opts.now.getTime()) {
    throw new TlsError(
      TlsErrorCode.CA_EXPIRED,
      `the local CA in ${dir} expired on ${ca.notAfter.toISOString()}; move the tls directory away ` +
        "to create a new CA, then have every device trust the new one",
      { path: join(dir, FILES.caCert) },
    );
  }

  const stored = await loadLeaf(dir, ca, opts);
  let leaf: Leaf;
  let leafIssueReason: LeafIssueReason | null = null;
  if ("reason" in stored) {
    leafIssueReason = stored.reason;
    leaf = await issueLeaf(dir, ca, opts);
  } else {
    leaf = stored;
  }

  return {
    caCertPem: ca.certPem,
    certPem: leaf.certPem + ca.certPem,
    keyPem: leaf.keyPem,
    caFingerprintSha256: ca.nodeCert.fingerprint256,
    caNotAfter: ca.notAfter,
    leafNotAfter: leaf.notAfter,
    generated: { ca: generatedCa, leaf: leafIssueReason !== null },
    leafIssueReason,
  };
}

interface ResolvedOptions {
  dataDir: string;
  hostnames: string[];
  ipAddresses: string[];
  now: Date;
  leafValidityDays: number;
  renewBeforeDays: number;
}

function validateOptions(options: TlsMaterialOptions): ResolvedOptions {
  const opts = { now: new Date(), leafValidityDays: MAX_LEAF_VALIDITY_DAYS, renewBeforeDays: 30, ...options };
  if (typeof opts.dataDir !== "string" || opts.dataDir === "") {
    throw new TypeError("dataDir must be a non-empty string");
  }
  if (!(opts.now instanceof Date) || Number.isNaN(opts.now.getTime())) {
    throw new TypeError("now must be a valid Date");
  }
  const { leafValidityDays, renewBeforeDays } = opts;
  if (
    !Number.isInteger(leafValidityDays) ||
    leafValidityDays < 1 ||
    leafValidityDays > MAX_LEAF_VALIDITY_DAYS
  ) {
    throw new RangeError(`leafValidityDays must be an integer from 1 to ${MAX_LEAF_VALIDITY_DAYS}`);
  }
  if (!Number.isInteger(renewBeforeDays) || renewBeforeDays < 0) {
    throw new RangeError("renewBeforeDays must be a non-negative integer");
  }
  if (renewBeforeDays >= leafValidityDays) {
    // Otherwise every start would find the new leaf "expiring" and issue another.
    throw new TypeError(
      `renewBeforeDays (${renewBeforeDays}) must be less than leafValidityDays (${leafValidityDays})`,
    );
  }
  const hostnames = [...new Set(opts.hostnames.map(normalizeHostname))];
  for (const name of hostnames) {
    if (!isValidHostname(name)) throw new TypeError(`invalid hostname: "${name}"`);
  }
  if (hostnames.length === 0) throw new TypeError("hostnames must name at least one host");
  const ipAddresses = new Set<string>();
  for (const raw of opts.ipAddresses) {
    const ip = raw.split("%")[0] ?? "";
    // node:net is strict (dotted quads, no "127.1"); ipaddr.js then gives one canonical form.
    if (isIP(ip) === 0) throw new TypeError(`invalid IP address: "${raw}"`);
    ipAddresses.add(ipaddr.parse(ip).toString());
  }
  return { ...opts, hostnames, ipAddresses: [...ipAddresses] };
}

interface Ca {
  certPem: string;
  nodeCert: NodeX509;
  cert: x509.X509Certificate;
  signingKey: webcrypto.CryptoKey;
  notAfter: Date;
}

async function loadCa(dir: string): Promise<Ca | undefined> {
  const certPath = join(dir, FILES.caCert);
  const keyPath = join(dir, FILES.caKey);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    const [present, missing] = certPem === undefined ? [keyPath, certPath] : [certPath, keyPath];
    throw new TlsError(
      TlsErrorCode.CA_INCOMPLETE,
      `${present} exists but ${missing} does not. Restore the missing file from a backup; only if ` +
        "no device trusts this CA yet, move the tls directory away to create a new CA",
      { path: missing },
    );
  }

  let nodeCert: NodeX509;
  let cert: x509.X509Certificate;
  try {
    nodeCert = new NodeX509(certPem);
    cert = new x509.X509Certificate(certPem);
  } catch (cause) {
    throw corruptCa(certPath, "is not a PEM certificate", cause);
  }
  // A self-signed CA certificate whose signature no longer verifies has been altered.
  if (!nodeCert.ca || !nodeCert.checkIssued(nodeCert) || !nodeCert.verify(nodeCert.publicKey)) {
    throw corruptCa(certPath, "is not a valid self-signed CA certificate");
  }

  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (cause) {
    throw corruptCa(keyPath, "is not an unencrypted PEM private key", cause);
  }
  if (!nodeCert.checkPrivateKey(key)) {
    throw new TlsError(
      TlsErrorCode.CA_KEY_MISMATCH,
      `${keyPath} is not the private key of ${certPath}. Restore the matching pair from a backup; ` +
        "a new CA would have to be trusted again on every device",
      { path: keyPath },
    );
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw corruptCa(keyPath, "is not an ECDSA P-256 key");
  }
  const signingKey = await webcrypto.subtle.importKey(
    "pkcs8",
    key.export({ format: "der", type: "pkcs8" }),
    EC_P256,
    false,
    ["sign"],
  );
  return { certPem: ensureNewline(certPem), nodeCert, cert, signingKey, notAfter: cert.notAfter };
}

function corruptCa(path: string, what: string, cause?: unknown): TlsError {
  return new TlsError(
    TlsErrorCode.CA_CORRUPT,
    `${path} ${what}. Restore it from a backup; Parley does not replace a CA on its own, because ` +
      "every device that trusts it would stop connecting",
    cause === undefined ? { path } : { path, cause },
  );
}

async function createCa(dir: string, now: Date): Promise<Ca> {
  const keys = await generateP256();
  // The host name and a random tag tell two Parley CAs apart in a phone's certificate list.
  const tag = randomBytes(4).toString("hex");
  const prefix = "Parley Local CA ";
  const host = os.hostname().slice(0, MAX_CN_LENGTH - prefix.length - tag.length - 1);
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`${prefix}${host} ${tag}`] }, { O: ["Parley"] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      // RFC 5280 §4.2.1.9: a CA; path length 0, so it can only sign leaves, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      // RFC 5280 §4.2.1.3: signs certificates and CRLs, nothing else.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = ensureNewline(cert.toString("pem"));
  const keyPem = await exportPkcs8Pem(keys.privateKey);

  // O_EXCL: never overwrite a CA file, even one another process wrote a moment ago. The key
  // goes first, so an interrupted first start leaves "key without certificate", which
  // loadCa reports, rather than a certificate whose key is gone.
  for (const [name, data, mode] of [
    [FILES.caKey, keyPem, 0o600],
    [FILES.caCert, certPem, 0o644],
  ] as const) {
    try {
      await writeNewFile(join(dir, name), data, mode);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause;
      throw new TlsError(
        TlsErrorCode.CA_CREATE_RACE,
        `${join(dir, name)} appeared while this process was creating a CA; is another server using ` +
          "the same data directory?",
        { path: join(dir, name), cause },
      );
    }
  }
  const signingKey = keys.privateKey;
  return { certPem, nodeCert: new NodeX509(certPem), cert, signingKey, notAfter: cert.notAfter };
}

interface Leaf {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

async function loadLeaf(
  dir: string,
  ca: Ca,
  opts: ResolvedOptions,
): Promise<Leaf | { reason: LeafIssueReason }> {
  const [certPem, keyPem] = await Promise.all([
    readIfExists(join(dir, FILES.leafCert)),
    readIfExists(join(dir, FILES.leafKey)),
  ]);
  if (certPem === undefined || keyPem === undefined) return { reason: "missing" };

  let nodeCert: NodeX509;
  let notBefore: Date;
  let notAfter: Date;
  try {
    nodeCert = new NodeX509(certPem);
    ({ notBefore, notAfter } = new x509.X509Certificate(certPem));
    if (!nodeCert.checkPrivateKey(createPrivateKey(keyPem))) return { reason: "invalid" };
  } catch {
    return { reason: "invalid" };
  }
  if (!nodeCert.checkIssued(ca.nodeCert) || !nodeCert.verify(ca.nodeCert.publicKey)) {
    return { reason: "issuer" };
  }
  const now = opts.now.getTime();
  if (notBefore.getTime() > now) return { reason: "not-yet-valid" };
  if (notAfter.getTime() - now <= opts.renewBeforeDays * DAY_MS) return { reason: "expiring" };
  // OpenSSL's own matching (X509_check_host / X509_check_ip), SAN only, no wildcards: the
  // same rules the TLS stack applies to a client's request.
  const coversAll =
    opts.hostnames.every((name) => nodeCert.checkHost(name, { subject: "never", wildcards: false })) &&
    opts.ipAddresses.every((ip) => nodeCert.checkIP(ip) !== undefined);
  if (!coversAll) return { reason: "names" };
  return { certPem: ensureNewline(certPem), keyPem: ensureNewline(keyPem), notAfter };
}

async function issueLeaf(dir: string, ca: Ca, opts: ResolvedOptions): Promise<Leaf> {
  const keys = await generateP256();
  const notBefore = new Date(opts.now.getTime() - CLOCK_SKEW_MS);
  const wanted = notBefore.getTime() + opts.leafValidityDays * DAY_MS;
  // RFC 5280 §6.1.3: a certificate is only valid while its issuer is, so never outlive the CA.
  const notAfter = new Date(Math.min(wanted, ca.notAfter.getTime()));
  const caSki = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const cn = opts.hostnames.find((name) => name.length <= MAX_CN_LENGTH) ?? "Parley server";
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [cn] }, { O: ["Parley"] }],
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // RFC 5280 §4.2.1.3, RFC 8446 §4.4.2.2: an ECDSA TLS server key only signs handshakes.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      // RFC 6125 §6.4.4 / CA/B BR: clients match names against the SAN only, never the CN.
      new x509.SubjectAlternativeNameExtension([
        ...opts.hostnames.map((value) => ({ type: "dns" as const, value })),
        ...opts.ipAddresses.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      caSki === null
        ? await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey)
        : new x509.AuthorityKeyIdentifierExtension(caSki.keyId),
    ],
  });
  const certPem = ensureNewline(cert.toString("pem"));
  const keyPem = await exportPkcs8Pem(keys.privateKey);
  // Key first: if we stop between the two renames, the next start sees a key that does not
  // match server.crt and simply issues another leaf.
  await replaceFile(join(dir, FILES.leafKey), keyPem, 0o600);
  await replaceFile(join(dir, FILES.leafCert), certPem, 0o644);
  // The certificate holds whole seconds; report what it says, not the millisecond request.
  return { certPem, keyPem, notAfter: cert.notAfter };
}

async function generateP256(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

async function exportPkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return ensureNewline(x509.PemConverter.encode(der, "PRIVATE KEY"));
}

/**
 * RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; CA/Browser Forum BR §7.1 asks for
 * at least 64 bits from a CSPRNG. The DER INTEGER is two's complement, so the top bit is
 * cleared (else it would read as negative) and the next one set (else a leading zero octet
 * would make the encoding non-minimal), which leaves 126 random bits.
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

function ensureNewline(pem: string): string {
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}
