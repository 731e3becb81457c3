/**
 * ts-mls types HPKE keys as WebCrypto CryptoKeys but treats them as opaque handles that only
 * travel back into the same Hpke object. A provider's handles are frozen tokens; the key bytes
 * live in a WeakMap of that provider, out of reach of anything that walks or logs the object,
 * and a handle made by one suite's provider is refused by another's.
 */
import type { PrivateKey, PublicKey } from "ts-mls";

export interface PrivateKeyMaterial {
  secretKey: Uint8Array;
  publicKey: Uint8Array | undefined;
}

export interface KeyHandles {
  toPrivateKey(secretKey: Uint8Array, publicKey: Uint8Array | undefined): PrivateKey;
  toPublicKey(publicKey: Uint8Array): PublicKey;
  privateMaterial(key: PrivateKey): PrivateKeyMaterial;
  publicMaterial(key: PublicKey): Uint8Array;
  keyPairFrom(kp: { secretKey: Uint8Array; publicKey: Uint8Array }): {
    privateKey: PrivateKey;
    publicKey: PublicKey;
  };
}

/** A fresh pair of WeakMaps and the handle functions over them, for one provider. */
export function makeKeyHandles(): KeyHandles {
  const privateKeys = new WeakMap<object, PrivateKeyMaterial>();
  const publicKeys = new WeakMap<object, Uint8Array>();
  const handles: KeyHandles = {
    toPrivateKey(secretKey, publicKey) {
      const token = Object.freeze({ type: "private" as const });
      privateKeys.set(token, { secretKey, publicKey });
      return token as unknown as PrivateKey;
    },
    toPublicKey(publicKey) {
      const token = Object.freeze({ type: "public" as const });
      publicKeys.set(token, publicKey);
      return token as unknown as PublicKey;
    },
    privateMaterial(key) {
      const material = privateKeys.get(key as unknown as object);
      if (material === undefined) throw new TypeError("not an HPKE private key made by this provider");
      return material;
    },
    publicMaterial(key) {
      const material = publicKeys.get(key as unknown as object);
      if (material === undefined) throw new TypeError("not an HPKE public key made by this provider");
      return material;
    },
    keyPairFrom(kp) {
      return {
        privateKey: handles.toPrivateKey(kp.secretKey, kp.publicKey),
        publicKey: handles.toPublicKey(kp.publicKey.slice()),
      };
    },
  };
  return handles;
}
