// A fetch over node:https that trusts exactly one CA, for the SDK and the admin commands.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { CliError, EXIT } from "./cli-error.js";

/** The fetch shape the client SDK takes (packages/client FetchLike), so `chat` can hand this over. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> },
) => Promise<{ readonly status: number; text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> }>;

export interface TrustedFetchOptions {
  /** The only CA trusted for https:// (from server-trust.ts); null for plain http on loopback. */
  ca: string | null;
  /** Per request. Default 15 s. */
  timeoutMs?: number;
}

// Certificate failures: the server is not the one that was trusted (exit 3, not a network error).
const TLS_TRUST_CODES = new Set([
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
]);

/**
 * fetch over node:https that trusts exactly one CA, with TLS verification (chain and host name)
 * left on. Node's global fetch cannot take a CA without undici's Agent, which is not a dependency.
 */
export function trustedFetch(options: TrustedFetchOptions): FetchLike {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return (url, init) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
      const req = send(
        target,
        {
          method: init.method,
          headers,
          agent: false,
          ...(target.protocol === "https:" && options.ca !== null ? { ca: options.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const body = Buffer.concat(chunks);
            resolve({
              status: res.statusCode ?? 0,
              text: async () => body.toString("utf8"),
              arrayBuffer: async () =>
                body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
            });
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (e: Error & { code?: string }) => {
        if (e.code && TLS_TRUST_CODES.has(e.code)) {
          reject(
            new CliError(
              `${target.origin} failed verification against its trusted CA (${e.code})`,
              EXIT.untrusted,
            ),
          );
        } else {
          reject(new CliError(`cannot reach ${target.origin}: ${e.code ?? e.message}`, EXIT.failed));
        }
      });
      if (init.body !== undefined) req.write(init.body);
      req.end();
    });
}
