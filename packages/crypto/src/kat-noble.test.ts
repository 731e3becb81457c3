/**
 * The known-answer tests again, on the pure @noble path: the one a page without WebCrypto's
 * Ed25519 takes. The choice is made when ed25519.ts loads, so it is set before kat.test.ts (and
 * through it the provider) is imported; node:test runs each file in its own process.
 */
process.env.PARLEY_CRYPTO_PRIMITIVES = "noble";
await import("./kat.test.js");
