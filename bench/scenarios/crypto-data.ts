/** What one run of scenario 5 (crypto) measured; see crypto.ts for how. */

export interface MessageRate {
  /** Application data per message, bytes. */
  payloadBytes: number;
  /** The MLSMessage(PrivateMessage) on the wire, bytes. */
  messageBytes: number;
  encrypted: number;
  encryptMs: number;
  encryptPerS: number;
  decrypted: number;
  decryptMs: number;
  decryptPerS: number;
}

export interface AddTiming {
  /** Members added by the one Commit. */
  added: number;
  /** Members before the Commit (the creator and one existing member who processes it). */
  membersBefore: number;
  /** addMembers + mergePendingCommit on the creator, ms. */
  commitMs: number;
  /** processMessage of that Commit on the existing member, ms. */
  processMs: number;
  /**
   * The delivery service's audit of that Commit (auditCommit: signatures, transcript and tree
   * hashes, members), ms; absent in results written before the server audited Commits.
   */
  auditMs?: number;
  commitBytes: number;
  welcomeBytes: number;
}

export interface GroupSizeFigures {
  /** Members once the newcomer has joined. */
  members: number;
  /** joinFromWelcome of the newcomer (the Welcome of a one-member add into members - 1), ms. */
  joinMs: number;
  welcomeBytes: number;
  /** exportGroupState of an existing member, bytes (secrets included, before encryption at rest). */
  stateBytes: number;
  /** exportGroupState of the newcomer right after joining, bytes. */
  newcomerStateBytes: number;
}

/**
 * The same operations through ts-mls directly with two providers, so that the ratio shows what
 * the provider costs and nothing else: Parley's @noble provider (suite 3) against ts-mls's
 * default provider (WebCrypto) for a suite it supports without optional dependencies.
 */
export interface ProviderComparison {
  /** Parley's suite and provider. */
  ours: ProviderFigures;
  baseline: ProviderFigures;
}

export interface ProviderFigures {
  suite: string;
  provider: string;
  encryptPerS: number;
  decryptPerS: number;
  /** Creator's Commit adding `added` members, ms. */
  addMs: number;
  /** A newcomer's join from that Welcome, ms. */
  joinMs: number;
  added: number;
}

export interface CryptoData {
  suite: string;
  provider: string;
  /**
   * generateKeyPackages for one device: packages per second, and one package's size in bytes
   * (absent in results written before the X-Wing suite).
   */
  keyPackages: { count: number; ms: number; perS: number; bytes?: number };
  messages: MessageRate[];
  adds: AddTiming[];
  groups: GroupSizeFigures[];
  /** null when no baseline could run; `baselineNote` says why. */
  comparison: ProviderComparison | null;
  baselineNote: string | null;
  /** Wall time of the whole measurement, s. */
  durationS: number;
}
