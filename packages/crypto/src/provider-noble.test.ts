/**
 * The provider's tests again, on the pure @noble path (see kat-noble.test.ts): both paths must
 * refuse the same malformed and malleated signatures.
 */
process.env.PARLEY_CRYPTO_PRIMITIVES = "noble";
await import("./provider.test.js");
