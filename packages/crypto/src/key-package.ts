/**
 * KeyPackages (RFC 9420 §10): what a device publishes so others can add it to groups. Each
 * device uploads a batch of single-use packages plus one last-resort package (§16.8), keeps
 * the private halves as KeyPackageBundles, and the directory checks uploads with
 * inspectKeyPackage.
 */
import { equalBytes } from "@noble/ciphers/utils.js";
import { DEFAULT_MLS_SUITE, type DeviceRef, type MlsSuite } from "@parley/protocol";
import type { CiphersuiteName, KeyPackage, Lifetime } from "ts-mls";
import { decodeVarLenData, varLenDataEncoder } from "ts-mls/codec/variableLength.js";
import { defaultGreaseConfig, greaseCapabilities } from "ts-mls/grease.js";
import { generateKeyPackageWithKey, makeKeyPackageRef, verifyKeyPackage } from "ts-mls/keyPackage.js";
import { verifyLeafNodeSignatureKeyPackage } from "ts-mls/leafNode.js";
import type { MLSMessage } from "ts-mls/message.js";
import { ParleyCryptoError } from "./errors.js";
import {
  certificateFromCredential,
  credentialFor,
  type DeviceCertificate,
  type DeviceIdentity,
  verifyDeviceCertificate,
} from "./identity.js";
import { decodeMessage, encodeMessage, intInRange } from "./mls-internal.js";
import { ciphersuiteImpl, ciphersuiteName, implFor, suiteOf } from "./suites.js";

/**
 * The `last_resort` KeyPackage extension (draft-ietf-mls-extensions, extension type 0x000A):
 * marks the one KeyPackage the directory may hand out more than once (RFC 9420 §16.8).
 */
export const LAST_RESORT_EXTENSION_TYPE = 0x000a;

/** A KeyPackage as uploaded (public) plus the private keys the device keeps until it is used. */
export interface KeyPackageBundle {
  /** MLSMessage(key_package), RFC 9420 §6 and §10: what goes to the directory. */
  readonly keyPackage: Uint8Array;
  /** KeyPackageRef (RFC 9420 §5.2): how a Welcome names this package. */
  readonly ref: Uint8Array;
  readonly lastResort: boolean;
  readonly initPrivateKey: Uint8Array;
  readonly hpkePrivateKey: Uint8Array;
}

export interface KeyPackageOptions {
  /** Validity from now (RFC 9420 §7.2 lifetime). Default 90 days. */
  lifetimeSeconds?: number;
  /** Accepted clock skew: notBefore is set this far in the past. Default 1 hour. */
  clockSkewSeconds?: number;
  /** Clock, in milliseconds since the epoch. Default Date.now. */
  now?: () => number;
  /** The cipher suite: the server's (`/api/info` mlsSuite). Default "x25519". */
  suite?: MlsSuite;
}

const KEY_PACKAGE_DEFAULTS = Object.freeze({
  lifetimeSeconds: 90 * 24 * 3600,
  clockSkewSeconds: 3600,
  now: () => Date.now(),
  suite: DEFAULT_MLS_SUITE,
});

function parleyCapabilities(suite: CiphersuiteName) {
  // RFC 9420 §7.2 capabilities, with GREASE values (§13.5) as ts-mls adds them.
  return greaseCapabilities(defaultGreaseConfig, {
    versions: ["mls10"],
    ciphersuites: [suite],
    extensions: [LAST_RESORT_EXTENSION_TYPE],
    proposals: [],
    credentials: ["basic"],
  });
}

function lifetimeFrom(options: KeyPackageOptions): Lifetime {
  const o = { ...KEY_PACKAGE_DEFAULTS, ...options };
  const lifetime = intInRange("lifetimeSeconds", o.lifetimeSeconds, 60, 10 * 365 * 24 * 3600);
  const skew = intInRange("clockSkewSeconds", o.clockSkewSeconds, 0, 24 * 3600);
  const nowSeconds = BigInt(Math.floor(o.now() / 1000));
  return { notBefore: nowSeconds - BigInt(skew), notAfter: nowSeconds + BigInt(lifetime) };
}

export async function makeKeyPackage(
  identity: DeviceIdentity,
  lastResort: boolean,
  options: KeyPackageOptions,
): Promise<KeyPackageBundle> {
  const extensions = lastResort
    ? [{ extensionType: LAST_RESORT_EXTENSION_TYPE, extensionData: new Uint8Array() }]
    : [];
  const suite = options.suite ?? DEFAULT_MLS_SUITE;
  const cs = await ciphersuiteImpl(suite);
  const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
    credentialFor(identity),
    parleyCapabilities(ciphersuiteName(suite)),
    lifetimeFrom(options),
    extensions,
    { signKey: identity.signaturePrivateKey, publicKey: identity.signaturePublicKey },
    cs,
  );
  return Object.freeze({
    keyPackage: encodeMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: publicPackage }),
    ref: await makeKeyPackageRef(publicPackage, cs.hash),
    lastResort,
    initPrivateKey: privatePackage.initPrivateKey,
    hpkePrivateKey: privatePackage.hpkePrivateKey,
  });
}

/** A batch of single-use KeyPackages for the directory (RFC 9420 §10, §16.8). */
export async function generateKeyPackages(
  identity: DeviceIdentity,
  count: number,
  options: KeyPackageOptions = {},
): Promise<KeyPackageBundle[]> {
  intInRange("count", count, 1, 1000);
  const out: KeyPackageBundle[] = [];
  for (let i = 0; i < count; i++) out.push(await makeKeyPackage(identity, false, options));
  return out;
}

/** The one last-resort KeyPackage, used when the directory has no single-use package left. */
export function generateLastResortKeyPackage(
  identity: DeviceIdentity,
  options: KeyPackageOptions = {},
): Promise<KeyPackageBundle> {
  return makeKeyPackage(identity, true, options);
}

const BUNDLE_VERSION = 1;

/** Serialises a bundle (private keys included) for the device's encrypted store. */
export function encodeKeyPackageBundle(bundle: KeyPackageBundle): Uint8Array {
  const parts = [bundle.keyPackage, bundle.initPrivateKey, bundle.hpkePrivateKey].map((p) => {
    const [len, write] = varLenDataEncoder(p);
    const buf = new ArrayBuffer(len);
    write(0, buf);
    return new Uint8Array(buf);
  });
  const total = 2 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  out[0] = BUNDLE_VERSION;
  out[1] = bundle.lastResort ? 1 : 0;
  let offset = 2;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Restores what encodeKeyPackageBundle wrote. Throws ParleyCryptoError `invalid_state`. */
export async function decodeKeyPackageBundle(bytes: Uint8Array): Promise<KeyPackageBundle> {
  if (bytes[0] !== BUNDLE_VERSION || (bytes[1] !== 0 && bytes[1] !== 1))
    throw new ParleyCryptoError("invalid_state");
  const fields: Uint8Array[] = [];
  let offset = 2;
  for (let i = 0; i < 3; i++) {
    const d = decodeVarLenData(bytes, offset);
    if (d === undefined) throw new ParleyCryptoError("invalid_state");
    fields.push(d[0].slice());
    offset += d[1]; // decoders return the number of bytes they consumed
  }
  if (offset !== bytes.length) throw new ParleyCryptoError("invalid_state");
  const [keyPackage, initPrivateKey, hpkePrivateKey] = fields as [Uint8Array, Uint8Array, Uint8Array];
  const kp = keyPackageOf(keyPackage, "invalid_state");
  let cs: Awaited<ReturnType<typeof implFor>>;
  try {
    cs = await implFor(kp.cipherSuite);
  } catch (cause) {
    throw new ParleyCryptoError("invalid_state", { cause });
  }
  return Object.freeze({
    keyPackage,
    ref: await makeKeyPackageRef(kp, cs.hash),
    lastResort: bytes[1] === 1,
    initPrivateKey,
    hpkePrivateKey,
  });
}

export function keyPackageOf(bytes: Uint8Array, code: "key_package_unusable" | "invalid_state"): KeyPackage {
  let m: MLSMessage;
  try {
    m = decodeMessage(bytes);
  } catch (cause) {
    throw new ParleyCryptoError(code, { cause });
  }
  if (m.wireformat !== "mls_key_package") throw new ParleyCryptoError(code);
  return m.keyPackage;
}

/** What the directory and the inviter learn from a KeyPackage, once its signatures check out. */
export interface KeyPackageInfo {
  readonly ref: Uint8Array;
  /** The KeyPackage's cipher suite; a group can only add packages of its own. */
  readonly suite: MlsSuite;
  readonly device: DeviceRef;
  readonly signaturePublicKey: Uint8Array;
  /** The device's certificate, its signature over `signaturePublicKey` verified. */
  readonly certificate: DeviceCertificate;
  readonly lastResort: boolean;
  /** Lifetime (RFC 9420 §7.2), seconds since the epoch. */
  readonly notBefore: bigint;
  readonly notAfter: bigint;
}

/**
 * Decodes and checks an uploaded KeyPackage (RFC 9420 §10.1): version, a cipher suite Parley
 * runs (which one is the caller's to judge, see KeyPackageInfo.suite), a Parley credential
 * whose device certificate verifies for leaf_node.signature_key, both signatures (KeyPackage
 * and LeafNode, under leaf_node.signature_key), init_key and encryption_key both public keys of
 * the suite's KEM (their lengths), and init_key != encryption_key. It does not check the lifetime against a clock or the binding
 * of the key to an account: that is the caller's (the Authentication Service's) job.
 * Throws ParleyCryptoError `key_package_unusable`.
 */
export async function inspectKeyPackage(bytes: Uint8Array): Promise<KeyPackageInfo> {
  const kp = keyPackageOf(bytes, "key_package_unusable");
  let suite: MlsSuite;
  try {
    suite = suiteOf(kp.cipherSuite);
  } catch (cause) {
    throw new ParleyCryptoError("key_package_unusable", { cause });
  }
  if (kp.version !== "mls10") throw new ParleyCryptoError("key_package_unusable");
  const cs = await ciphersuiteImpl(suite);
  let certificate: DeviceCertificate;
  try {
    certificate = certificateFromCredential(kp.leafNode.credential);
  } catch (cause) {
    throw new ParleyCryptoError("key_package_unusable", { cause });
  }
  const leaf = kp.leafNode;
  // Both HPKE keys must be keys of the suite's KEM (32 bytes for X25519, 1216 for X-Wing): a
  // wrong-length key would be accepted here and fail only in the Commit that adds the device.
  try {
    await cs.hpke.importPublicKey(kp.initKey);
    await cs.hpke.importPublicKey(leaf.hpkePublicKey);
  } catch (cause) {
    throw new ParleyCryptoError("key_package_unusable", { cause });
  }
  if (
    leaf.leafNodeSource !== "key_package" ||
    !verifyDeviceCertificate(certificate, leaf.signaturePublicKey) ||
    equalBytes(kp.initKey, leaf.hpkePublicKey) ||
    !(await verifyKeyPackage(kp, cs.signature)) ||
    !(await verifyLeafNodeSignatureKeyPackage(leaf, cs.signature))
  ) {
    throw new ParleyCryptoError("key_package_unusable");
  }
  return Object.freeze({
    ref: await makeKeyPackageRef(kp, cs.hash),
    suite,
    device: { userId: certificate.userId, deviceId: certificate.deviceId },
    signaturePublicKey: leaf.signaturePublicKey,
    certificate,
    lastResort: kp.extensions.some((e) => e.extensionType === LAST_RESORT_EXTENSION_TYPE),
    notBefore: leaf.lifetime.notBefore,
    notAfter: leaf.lifetime.notAfter,
  });
}
