/**
 * What `import("crypto")` resolves to in the browser build (vite.config.ts). @hpke/common, under
 * ts-mls, imports Node's `crypto` only where `globalThis.crypto` is missing, which a page never
 * is; in a page the answer is the page's own WebCrypto.
 */
export const webcrypto = globalThis.crypto;
export default { webcrypto };
