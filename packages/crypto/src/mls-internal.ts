/**
 * Helpers shared by mls.ts and key-package.ts: MLSMessage framing, ts-mls error translation,
 * argument checks. Not part of the package's public API.
 */
import type { CiphersuiteImpl, ClientState } from "ts-mls";
import { decodeMlsMessage, encodeMlsMessage, type MLSMessage } from "ts-mls/message.js";
import {
  CodecError,
  CryptoError,
  CryptoVerificationError,
  MlsError,
  UsageError,
  ValidationError,
} from "ts-mls/mlsError.js";
import { ParleyCryptoError } from "./errors.js";
import { implFor } from "./suites.js";

/** The provider for a group's own suite (RFC 9420 §11: fixed at creation). */
export function implOf(state: ClientState): Promise<CiphersuiteImpl> {
  return implFor(state.groupContext.cipherSuite);
}

export function intInRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** Maps a ts-mls failure to Parley's registry; anything else is a bug and passes through unchanged. */
function translate(e: unknown): unknown {
  if (e instanceof ParleyCryptoError) return e;
  if (e instanceof CryptoError || e instanceof CryptoVerificationError) {
    return new ParleyCryptoError("authentication_failed", { cause: e });
  }
  if (e instanceof ValidationError) {
    // ts-mls 1.6.4 (pinned) distinguishes these only by message; kat and mls tests pin them.
    if (e.message === "Desired gen in the past")
      return new ParleyCryptoError("message_replayed", { cause: e });
    if (e.message === "Desired generation too far in the future") {
      return new ParleyCryptoError("message_too_far_ahead", { cause: e });
    }
    if (e.message === "Could not validate credential") {
      return new ParleyCryptoError("credential_rejected", { cause: e });
    }
    if (e.message === "Cannot process message, epoch too old") {
      return new ParleyCryptoError("epoch_unavailable", { cause: e });
    }
    return new ParleyCryptoError("invalid_message", { cause: e });
  }
  if (e instanceof CodecError) return new ParleyCryptoError("malformed_message", { cause: e });
  if (e instanceof UsageError || e instanceof MlsError)
    return new ParleyCryptoError("invalid_message", { cause: e });
  return e;
}

export async function guarded<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw translate(e);
  }
}

export function encodeMessage(m: MLSMessage): Uint8Array {
  return encodeMlsMessage(m);
}

export function decodeMessage(bytes: Uint8Array): MLSMessage {
  let decoded: ReturnType<typeof decodeMlsMessage>;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch (cause) {
    throw new ParleyCryptoError("malformed_message", { cause });
  }
  if (decoded === undefined || decoded[1] !== bytes.length || decoded[0].version !== "mls10") {
    throw new ParleyCryptoError("malformed_message");
  }
  return decoded[0];
}
