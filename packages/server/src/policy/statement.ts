import { sign } from "node:crypto";
import {
  canonicalJson,
  SERVER_POLICY_CONTEXT,
  SERVER_POLICY_VERSION,
  type ServerPolicy,
  type ServerPolicyResponse,
} from "@parley/protocol";
import type { Config } from "../config/config.js";
import type { PolicyKey } from "./policy-key.js";

/** POLICY-1: what this server keeps and logs, from its effective settings. */
export function policyStatement(config: Config): ServerPolicy {
  return {
    version: SERVER_POLICY_VERSION,
    messages:
      config.offlineQueue === "on"
        ? { storage: "queue", ttlSeconds: config.offlineQueueTtlS }
        : { storage: "none" },
    files:
      config.files === "on"
        ? { enabled: true, ttlSeconds: config.fileTtlS, maxBytes: config.fileMaxBytes }
        : { enabled: false },
    audit: { retentionDays: config.auditRetentionDays },
    logLevel: config.logLevel,
    ids: {
      maxFailures: config.bruteForceMaxFailures,
      windowSeconds: config.bruteForceWindowS,
      blockSeconds: config.bruteForceBlockS,
      accountFreeFailures: config.accountFreeFailures,
      accountMaxDelaySeconds: config.accountMaxDelayS,
    },
    registration: config.registration,
    requireTotp: config.requireTotp,
  };
}

/**
 * POLICY-1: the statement as canonical JSON and its Ed25519 signature over the context string
 * and that text. Made once at start: the settings are frozen for the life of the process.
 */
export function signedPolicy(config: Config, key: PolicyKey): ServerPolicyResponse {
  const statement = canonicalJson(policyStatement(config));
  const signature = sign(null, Buffer.from(SERVER_POLICY_CONTEXT + statement, "utf8"), key.privateKey);
  return {
    statement,
    signature: signature.toString("base64"),
    publicKey: Buffer.from(key.publicKey).toString("base64"),
  };
}
