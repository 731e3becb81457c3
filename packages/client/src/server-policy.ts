/** The server's signed policy (POLICY-1): fetched, verified, pinned on first use, compared later. */

import { policyKeyFingerprint, verifyPolicySignature } from "@parley/crypto";
import {
  canonicalJson,
  SERVER_POLICY_CONTEXT,
  ServerPolicy,
  ServerPolicyResponse,
  type ServerPolicy as ServerPolicyType,
} from "@parley/protocol";
import { base64ToBytes } from "./base64.js";
import { ParleyClientError } from "./errors.js";
import { expectShape, parseJson } from "./json.js";
import type { FetchLike } from "./platform.js";
import { requestJson } from "./session.js";

/** A policy statement whose signature checked out. */
export interface VerifiedPolicy {
  readonly statement: ServerPolicyType;
  /** The signed text (canonical JSON). */
  readonly text: string;
  /** SHA-256 of the policy key, as the server prints it at start. */
  readonly keyFingerprint: string;
}

/** One part of the policy that differs from the pinned one, in words. */
export interface PolicyChange {
  readonly part: PolicyPart;
  readonly before: string;
  readonly after: string;
}

export type PolicyCheck =
  /** Nothing was pinned for this server: it is now. */
  | { readonly state: "first_use"; readonly policy: VerifiedPolicy }
  | { readonly state: "unchanged"; readonly policy: VerifiedPolicy }
  /**
   * The statement or the key differs from the pinned one; the pin stays until accept(). A new
   * key (`keyChanged`) is the louder warning: another server, or the operator's data dir lost.
   */
  | {
      readonly state: "changed";
      readonly policy: VerifiedPolicy;
      readonly keyChanged: boolean;
      readonly changes: readonly PolicyChange[];
      readonly pinnedKeyFingerprint: string;
    };

/** Where the pins live: a small string store (the browser's settings, the terminal's config dir). */
export interface PolicyPinStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/** GET /api/policy, verified (`policy_invalid` when the signature or the statement is wrong). */
export async function fetchServerPolicy(baseUrl: string, fetch: FetchLike): Promise<VerifiedPolicy> {
  const answer = expectShape<ServerPolicyResponse>(
    ServerPolicyResponse,
    await requestJson(fetch, `${baseUrl}/api/policy`, "GET"),
    "policy",
  );
  return verifyServerPolicy(answer);
}

/** Checks a policy answer's signature and statement. */
export async function verifyServerPolicy(answer: ServerPolicyResponse): Promise<VerifiedPolicy> {
  let publicKey: Uint8Array;
  let signature: Uint8Array;
  try {
    publicKey = base64ToBytes(answer.publicKey);
    signature = base64ToBytes(answer.signature);
  } catch {
    throw new ParleyClientError("policy_invalid");
  }
  if (!(await verifyPolicySignature(publicKey, SERVER_POLICY_CONTEXT, answer.statement, signature)))
    throw new ParleyClientError("policy_invalid");
  let statement: ServerPolicyType;
  try {
    statement = expectShape<ServerPolicyType>(ServerPolicy, parseJson(answer.statement), "policy statement");
  } catch {
    throw new ParleyClientError("policy_invalid");
  }
  // One statement has one text: anything else was not made by a Parley server.
  if (canonicalJson(statement) !== answer.statement) throw new ParleyClientError("policy_invalid");
  return { statement, text: answer.statement, keyFingerprint: policyKeyFingerprint(publicKey) };
}

interface Pin {
  text: string;
  keyFingerprint: string;
}

/**
 * Trust on first use for a server's policy (POLICY-2): the first verified statement and key
 * seen for an origin are pinned; a later statement or key that differs is reported until the
 * person accepts it.
 */
export class PolicyPins {
  constructor(private readonly store: PolicyPinStore) {}

  async check(origin: string, policy: VerifiedPolicy): Promise<PolicyCheck> {
    const pin = await this.pinned(origin);
    if (pin === undefined) {
      await this.accept(origin, policy);
      return { state: "first_use", policy };
    }
    const keyChanged = pin.keyFingerprint !== policy.keyFingerprint;
    if (!keyChanged && pin.text === policy.text) return { state: "unchanged", policy };
    let before: ServerPolicyType | undefined;
    try {
      before = expectShape<ServerPolicyType>(ServerPolicy, parseJson(pin.text), "pinned policy");
    } catch {
      before = undefined;
    }
    return {
      state: "changed",
      policy,
      keyChanged,
      changes: before === undefined ? [] : policyChanges(before, policy.statement),
      pinnedKeyFingerprint: pin.keyFingerprint,
    };
  }

  /** Pins `policy` for `origin` (first use, or the person acknowledged a change). */
  async accept(origin: string, policy: VerifiedPolicy): Promise<void> {
    const pin: Pin = { text: policy.text, keyFingerprint: policy.keyFingerprint };
    await this.store.set(pinKey(origin), JSON.stringify(pin));
  }

  async pinned(origin: string): Promise<Pin | undefined> {
    const raw = await this.store.get(pinKey(origin));
    if (raw === undefined) return undefined;
    try {
      const value = parseJson(raw) as Partial<Pin> | null;
      if (typeof value?.text === "string" && typeof value.keyFingerprint === "string")
        return { text: value.text, keyFingerprint: value.keyFingerprint };
    } catch {
      // A damaged pin is as good as none, but is not silently replaced: report it as changed.
    }
    return { text: "", keyFingerprint: "" };
  }
}

/** What a client knows of its server's policy: the last check, or why it failed. */
export interface ServerPolicyState {
  /** The last completed check; undefined before the first one succeeds. */
  readonly check: PolicyCheck | undefined;
  /** Why the last check failed, as thrown (`policy_invalid`, a network error …), or undefined. */
  readonly error: unknown;
}

export interface ServerPolicyWatchOptions {
  /** The server's origin, as the pins are keyed. */
  baseUrl: string;
  fetch: FetchLike;
  pins: PolicyPinStore;
}

/**
 * POLICY-2 for a client's lifetime: fetches, verifies and checks the server's policy against the
 * pin whenever asked (each connection and reconnection, through ChatModel, and before sign-in),
 * keeps the latest state and tells subscribers. `warning` is set when a change shows up that was
 * not reported before, so a client warns once per change, not on every reconnect; the change
 * stays in `state` until accept().
 */
export class ServerPolicyWatch {
  readonly #o: ServerPolicyWatchOptions;
  readonly #pins: PolicyPins;
  readonly #listeners = new Set<(state: ServerPolicyState, warning: boolean) => void>();
  #state: ServerPolicyState = { check: undefined, error: undefined };
  #running: Promise<PolicyCheck | undefined> | undefined;
  /** The statement and key last warned about. */
  #warned: string | undefined;

  constructor(options: ServerPolicyWatchOptions) {
    this.#o = options;
    this.#pins = new PolicyPins(options.pins);
  }

  get state(): ServerPolicyState {
    return this.#state;
  }

  /** `listener(state, warning)` after every check; `warning` for a change not reported before. */
  subscribe(listener: (state: ServerPolicyState, warning: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Checks now (concurrent calls share one check); never throws: a failure is in `state.error`. */
  check(): Promise<PolicyCheck | undefined> {
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** The person saw the change: the current statement and key are pinned. */
  async accept(): Promise<void> {
    const check = this.#state.check;
    if (check === undefined) return;
    await this.#pins.accept(this.#o.baseUrl, check.policy);
    this.#warned = undefined;
    this.#publish({ check: { state: "unchanged", policy: check.policy }, error: undefined }, false);
  }

  async #check(): Promise<PolicyCheck | undefined> {
    try {
      const check = await this.#pins.check(
        this.#o.baseUrl,
        await fetchServerPolicy(this.#o.baseUrl, this.#o.fetch),
      );
      let warning = false;
      if (check.state === "changed") {
        const seen = `${check.policy.keyFingerprint}\n${check.policy.text}`;
        warning = seen !== this.#warned;
        this.#warned = seen;
      } else this.#warned = undefined;
      this.#publish({ check, error: undefined }, warning);
      return check;
    } catch (e) {
      // The last good check stays: a server unreachable for a moment has not changed its policy.
      this.#publish({ check: this.#state.check, error: e }, false);
      return undefined;
    }
  }

  #publish(state: ServerPolicyState, warning: boolean): void {
    this.#state = state;
    for (const listener of this.#listeners) listener(state, warning);
  }
}

const pinKey = (origin: string) => `policy-pin:${origin.replace(/\/+$/, "")}`;

export type PolicyPart = "messages" | "files" | "audit" | "logLevel" | "ids" | "registration" | "requireTotp";

const PARTS: readonly PolicyPart[] = [
  "messages",
  "files",
  "audit",
  "logLevel",
  "ids",
  "registration",
  "requireTotp",
];

const PART_LABELS: Record<PolicyPart, string> = {
  messages: "Messages",
  files: "Files",
  audit: "Audit log",
  logLevel: "Server log",
  ids: "Sign-in guard",
  registration: "Registration",
  requireTotp: "Two-step sign-in",
};

export function policyPartLabel(part: PolicyPart): string {
  return PART_LABELS[part];
}

/** Each part of the policy in words, in a fixed order, for a "This server" panel. */
export function describePolicy(p: ServerPolicyType): { part: PolicyPart; label: string; text: string }[] {
  return PARTS.map((part) => ({ part, label: PART_LABELS[part], text: describePart(p, part) }));
}

/** The parts whose wording differs, before and after. */
export function policyChanges(before: ServerPolicyType, after: ServerPolicyType): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const part of PARTS) {
    const a = describePart(before, part);
    const b = describePart(after, part);
    if (a !== b) out.push({ part, before: a, after: b });
  }
  return out;
}

/** "Messages: never stored → kept (ciphertext) for offline devices up to 7 days" */
export function describePolicyChange(c: PolicyChange): string {
  return `${PART_LABELS[c.part]}: ${c.before} → ${c.after}`;
}

function describePart(p: ServerPolicyType, part: PolicyPart): string {
  switch (part) {
    case "messages":
      return p.messages.storage === "none"
        ? "never stored on the server"
        : `kept (ciphertext) for offline devices up to ${duration(p.messages.ttlSeconds)}`;
    case "files":
      return p.files.enabled
        ? `encrypted files kept up to ${duration(p.files.ttlSeconds)}, at most ${bytes(p.files.maxBytes)} each`
        : "off (no file is stored)";
    case "audit":
      return `security events kept ${p.audit.retentionDays} days`;
    case "logLevel":
      return `level ${p.logLevel}`;
    case "ids": {
      const i = p.ids;
      return `${i.maxFailures} failed sign-ins in ${duration(i.windowSeconds)} block an address for ${duration(i.blockSeconds)}; an account slows down after ${i.accountFreeFailures} (up to ${duration(i.accountMaxDelaySeconds)})`;
    }
    case "registration":
      return p.registration === "open"
        ? "open to anyone on the network"
        : p.registration === "invite"
          ? "by invite code only"
          : "closed";
    case "requireTotp":
      return p.requireTotp === "off"
        ? "optional"
        : p.requireTotp === "admins"
          ? "required for admins"
          : "required for everyone";
  }
}

function duration(s: number): string {
  if (s % 86_400 === 0) return plural(s / 86_400, "day");
  if (s % 3600 === 0) return plural(s / 3600, "hour");
  if (s % 60 === 0) return plural(s / 60, "minute");
  return plural(s, "second");
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

function bytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MB`;
  if (n % 1024 === 0) return `${n / 1024} KB`;
  return `${n} bytes`;
}
