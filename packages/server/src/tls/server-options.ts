import type { ServerOptions } from "node:https";

/**
 * TLS 1.3 suites (RFC 8446 §9.1; all AEAD), then ECDHE + AEAD suites for TLS 1.2: Mozilla's
 * "intermediate" server configuration without its finite-field DHE suites, and what RFC 9325
 * (BCP 195) §4.2 recommends. Forward secrecy and AEAD only: no CBC, no RSA key transport, no
 * SHA-1 MACs. TLS 1.3 names must be listed too: when `ciphers` holds none, Node turns TLS 1.3
 * off. Both ECDSA and RSA variants are present because an operator's own certificate may
 * carry an RSA key; the generated one is ECDSA P-256.
 */
export const TLS_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/**
 * Options for `https.createServer` (or a Fastify `https` option): TLS 1.2 at least (RFC 8996
 * deprecates 1.0 and 1.1), AEAD suites only, the server's preference order.
 */
export function tlsServerOptions(material: { certPem: string; keyPem: string }): ServerOptions {
  return {
    cert: material.certPem,
    key: material.keyPem,
    minVersion: "TLSv1.2",
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
  };
}
