import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { TlsError, TlsErrorCode } from "./errors.js";

export interface OperatorTls {
  /** The certificate file as given: the server certificate first, then any intermediates. */
  certPem: string;
  /** The private key file as given (PKCS#8, PKCS#1 or SEC1 PEM, unencrypted). */
  keyPem: string;
  /** SHA-256 of the server certificate, "AB:CD:…". */
  fingerprintSha256: string;
  /** When the server certificate expires, so start-up can warn ahead of time. */
  notAfter: Date;
}

/**
 * Reads a certificate and key that the operator brings (from their own CA or ACME), and
 * refuses a key that does not belong to the certificate: Node would otherwise only fail on
 * the first handshake, long after start-up said everything was fine.
 */
export async function loadOperatorTls(certFile: string, keyFile: string): Promise<OperatorTls> {
  const [certPem, keyPem] = await Promise.all([readOrThrow(certFile), readOrThrow(keyFile)]);

  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (cause) {
    throw new TlsError(TlsErrorCode.OPERATOR_CERT_INVALID, `${certFile} holds no PEM certificate`, {
      path: certFile,
      cause,
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (cause) {
    throw new TlsError(
      TlsErrorCode.OPERATOR_KEY_INVALID,
      `${keyFile} holds no unencrypted PEM private key (encrypted keys are not supported)`,
      { path: keyFile, cause },
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new TlsError(
      TlsErrorCode.OPERATOR_KEY_MISMATCH,
      `${keyFile} is not the private key of the certificate in ${certFile} ` +
        "(the server certificate must come first in that file)",
      { path: keyFile },
    );
  }
  return {
    certPem,
    keyPem,
    fingerprintSha256: cert.fingerprint256,
    notAfter: new Date(cert.validTo),
  };
}

async function readOrThrow(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    throw new TlsError(TlsErrorCode.OPERATOR_UNREADABLE, `cannot read ${path}`, { path, cause });
  }
}
