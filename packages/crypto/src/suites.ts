/**
 * Which MLS cipher suite an operation runs in, and the provider for it. A server chooses the
 * suite of new groups and KeyPackages (`PARLEY_MLS_SUITE`); every other operation takes the
 * suite from what it works on: a group's state, a Welcome, a GroupInfo, a KeyPackage (RFC 9420
 * §11: a group's cipher suite never changes).
 *
 * The X-Wing provider is imported dynamically, so bundlers put ML-KEM in a chunk of its own
 * that a client loads only when it meets that suite.
 */
import { MLS_SUITES, type MlsSuite, mlsSuiteOf } from "@parley/protocol";
import type { Ciphersuite, CiphersuiteImpl, CiphersuiteName, CryptoProvider } from "ts-mls";
import { ParleyCryptoError } from "./errors.js";
import { parleyCiphersuite } from "./provider.js";

let xwing: Promise<CiphersuiteImpl> | undefined;

/** The provider's CiphersuiteImpl for a suite Parley runs. */
export function ciphersuiteImpl(suite: MlsSuite): Promise<CiphersuiteImpl> {
  switch (suite) {
    case "x25519":
      return Promise.resolve(parleyCiphersuite());
    case "xwing":
      xwing ??= import("./provider-xwing.js").then((m) => m.xwingCiphersuite());
      return xwing;
  }
}

/** The RFC 9420 name of a Parley suite. */
export function ciphersuiteName(suite: MlsSuite): CiphersuiteName {
  return MLS_SUITES[suite].name;
}

/**
 * The suite of something received (a state, a message, a KeyPackage). Throws ParleyCryptoError
 * `unsupported_suite` for any suite Parley does not run.
 */
export function suiteOf(name: CiphersuiteName): MlsSuite {
  const suite = mlsSuiteOf(name);
  if (suite === undefined) throw new ParleyCryptoError("unsupported_suite");
  return suite;
}

/** The CiphersuiteImpl for a suite named by received bytes (see suiteOf). */
export function implFor(name: CiphersuiteName): Promise<CiphersuiteImpl> {
  return ciphersuiteImpl(suiteOf(name));
}

/** A ts-mls CryptoProvider serving exactly the suites Parley runs; any other is a RangeError. */
export const parleyCryptoProvider: CryptoProvider = {
  async getCiphersuiteImpl(cs: Ciphersuite) {
    const suite = mlsSuiteOf(cs.name);
    if (suite === undefined) throw new RangeError(`the Parley provider does not run ${cs.name}`);
    return ciphersuiteImpl(suite);
  },
};
