export { TlsError, TlsErrorCode } from "./errors.js";
export { fingerprintSha256 } from "./fingerprint.js";
export { defaultHostnames, interfaceAddresses, isValidHostname, normalizeHostname } from "./hostnames.js";
export type { LeafIssueReason, TlsMaterial, TlsMaterialOptions } from "./local-ca.js";
export { ensureTlsMaterial } from "./local-ca.js";
export type { OperatorTls } from "./operator.js";
export { loadOperatorTls } from "./operator.js";
export { TLS_CIPHERS, tlsServerOptions } from "./server-options.js";
export { terminalQr } from "./terminal-qr.js";
