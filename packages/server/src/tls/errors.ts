/**
 * Every way the TLS set-up refuses to start, with a stable code. Callers and tests branch on
 * `code`, never on message text. Codes are never reused for a different meaning.
 */
export const TlsErrorCode = {
  /** ca.crt or ca.key cannot be parsed, or ca.crt is not a CA certificate. */
  CA_CORRUPT: "PARLEY_TLS_CA_CORRUPT",
  /** ca.key is a valid key but not the one certified by ca.crt. */
  CA_KEY_MISMATCH: "PARLEY_TLS_CA_KEY_MISMATCH",
  /** Only one of ca.crt / ca.key exists. */
  CA_INCOMPLETE: "PARLEY_TLS_CA_INCOMPLETE",
  /** The local CA is past its notAfter; it cannot issue a usable leaf. */
  CA_EXPIRED: "PARLEY_TLS_CA_EXPIRED",
  /** A CA file appeared while this process was creating one (two servers on one data dir). */
  CA_CREATE_RACE: "PARLEY_TLS_CA_CREATE_RACE",
  /** The operator's certificate or key file cannot be read. */
  OPERATOR_UNREADABLE: "PARLEY_TLS_OPERATOR_UNREADABLE",
  /** The operator's certificate file holds no parseable certificate. */
  OPERATOR_CERT_INVALID: "PARLEY_TLS_OPERATOR_CERT_INVALID",
  /** The operator's key file holds no parseable, unencrypted private key. */
  OPERATOR_KEY_INVALID: "PARLEY_TLS_OPERATOR_KEY_INVALID",
  /** The operator's private key does not belong to the (first) certificate in the file. */
  OPERATOR_KEY_MISMATCH: "PARLEY_TLS_OPERATOR_KEY_MISMATCH",
} as const;

export type TlsErrorCode = (typeof TlsErrorCode)[keyof typeof TlsErrorCode];

/** Thrown when TLS material cannot be loaded or created safely; `path` names the file at fault. */
export class TlsError extends Error {
  override readonly name = "TlsError";
  readonly code: TlsErrorCode;
  readonly path: string | undefined;

  constructor(code: TlsErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
  }
}
