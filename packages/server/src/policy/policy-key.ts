import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { chmod, readFile, stat, writeFile } from "node:fs/promises";

/** The server's policy-signing key (POLICY-1) and what clients pin of it. */
export interface PolicyKey {
  readonly privateKey: KeyObject;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** SHA-256 of the raw public key, uppercase hex pairs joined by colons, as the CA's is shown. */
  readonly fingerprint: string;
  readonly generated: boolean;
}

/**
 * The Ed25519 key (node:crypto) the server signs its policy statement with, kept in `file`
 * (PKCS #8 PEM, mode 0600) and made at first start. Created with `wx`: when two processes start
 * together, one key wins and the other reads it.
 */
export async function loadOrCreatePolicyKey(file: string): Promise<PolicyKey> {
  let generated = false;
  let pem: string;
  try {
    pem = await readFile(file, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
    const { privateKey } = generateKeyPairSync("ed25519");
    const fresh = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    try {
      await writeFile(file, fresh, { flag: "wx", mode: 0o600 });
      generated = true;
      pem = fresh;
    } catch (e2) {
      if ((e2 as { code?: string }).code !== "EEXIST") throw e2;
      pem = await readFile(file, "utf8");
    }
  }
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== "ed25519") throw new TypeError(`${file} does not hold an Ed25519 key`);
  // The SPKI DER of an Ed25519 key is a fixed 12-byte header and the 32 key bytes (RFC 8410 §4).
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  return { privateKey, publicKey, fingerprint: policyKeyFingerprint(publicKey), generated };
}

export function policyKeyFingerprint(publicKey: Uint8Array): string {
  const hex = createHash("sha256").update(publicKey).digest("hex").toUpperCase();
  return hex.match(/../g)?.join(":") ?? "";
}
