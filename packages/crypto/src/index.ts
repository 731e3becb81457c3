/**
 * @parley/crypto: MLS (RFC 9420) on ts-mls with Parley's @noble provider, device identities
 * and safety numbers. Pure: no node: imports, no WebCrypto; only crypto.getRandomValues.
 */
export {
  type AuditedDevice,
  type AuditedPart,
  auditCommit,
  type CommitAudit,
  CommitAuditError,
} from "./commit-audit.js";
export {
  deriveLinkKeys,
  type LinkKeys,
  type LinkSecret,
  newLinkSecret,
  openLinkPayload,
  sealLinkPayload,
} from "./device-link.js";
export { CRYPTO_ERRORS, type CryptoErrorCode, isParleyCryptoError, ParleyCryptoError } from "./errors.js";
export {
  certificateFromCredential,
  credentialFor,
  type DeviceCertificate,
  type DeviceIdentity,
  type DeviceRef,
  type DeviceRevocation,
  decodeCertificate,
  decodeDeviceRef,
  deviceRefFromCredential,
  encodeCertificate,
  encodeDeviceRef,
  exportDeviceIdentity,
  generateDeviceIdentity,
  generateIdentityKey,
  type IdentityKeyPair,
  identityKeyFromSeed,
  importDeviceIdentity,
  sameDevice,
  signDeviceCertificate,
  signDeviceRevocation,
  verifyDeviceCertificate,
  verifyDeviceRevocation,
} from "./identity.js";
export { signMessageOrigin, verifyMessageOrigin } from "./message-origin.js";
export {
  addMembers,
  type CreateGroupOptions,
  createGroup,
  createMlsConfig,
  decodeKeyPackageBundle,
  encodeKeyPackageBundle,
  encryptApplicationMessage,
  exportGroupInfo,
  exportGroupState,
  type GroupState,
  generateKeyPackages,
  generateLastResortKeyPackage,
  groupEpoch,
  groupIdOf,
  groupMembers,
  groupSuite,
  type IncomingResult,
  importGroupState,
  inspectKeyPackage,
  inspectMessage,
  isActiveMember,
  joinByExternalCommit,
  joinFromWelcome,
  type KeyPackageBundle,
  type KeyPackageInfo,
  type KeyPackageOptions,
  LAST_RESORT_EXTENSION_TYPE,
  type Member,
  type MessageInfo,
  MLS_DEFAULTS,
  type MlsConfigOptions,
  memberDiff,
  mergePendingCommit,
  ownLeafIndex,
  type PendingCommit,
  type ProcessOptions,
  processMessage,
  removeMembers,
  selfUpdate,
  welcomeKeyPackageRefs,
} from "./mls.js";
export {
  PARLEY_CIPHERSUITE,
  PARLEY_CIPHERSUITE_ID,
  parleyCiphersuite,
} from "./provider.js";
export {
  computeSafetyNumber,
  type SafetyNumber,
  type SafetyNumberParty,
  userFingerprint,
} from "./safety-number.js";
export { ciphersuiteImpl, ciphersuiteName, parleyCryptoProvider } from "./suites.js";
