/**
 * Linking a new device to a person's identity (IDENT-3, docs/SECURITY.md "Linking a device"):
 * the link code and QR payload, the sealed payload, and the two sides' flows over the
 * server's `link.*` relay.
 */
import { bytesToUtf8, equalBytes, randomBytes, utf8ToBytes } from "@noble/ciphers/utils.js";
import {
  deriveLinkKeys,
  type IdentityKeyPair,
  identityKeyFromSeed,
  type LinkSecret,
  newLinkSecret,
  openLinkPayload,
  sealLinkPayload,
} from "@parley/crypto";
import type { ServerFrameOf } from "@parley/protocol";
import { base64ToBytes, bytesToBase64 } from "./base64.js";
import type { Connection } from "./connection.js";
import { ParleyClientError } from "./errors.js";
import { parseJson } from "./json.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LINK_ID_LENGTH = 10;
const QR_PREFIX = "parley-link:1:";

/** What the new device shows: a short code to type, and a QR payload that also carries its key. */
export interface LinkCode {
  /** The link id as two groups of five (`K7QFM-2XA9D`); typed on the existing device. */
  readonly code: string;
  /** `parley-link:1:<linkId>:<X25519 key, base64url>`; scanned on the existing device. */
  readonly qrPayload: string;
}

/** A verification mark handed to the linked device: a person whose identity key this user verified. */
export interface LinkedMark {
  readonly userId: string;
  readonly identityKey: Uint8Array;
}

/** The plaintext of the sealed link payload. */
export interface LinkPayload {
  readonly userId: string;
  readonly identityKey: IdentityKeyPair;
  readonly verified: readonly LinkedMark[];
}

function newLinkId(): string {
  const bytes = randomBytes(LINK_ID_LENGTH);
  let out = "";
  for (const b of bytes) out += CROCKFORD[b & 31];
  return out;
}

const b64url = (b: Uint8Array) => bytesToBase64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (s: string) => base64ToBytes(s.replace(/-/g, "+").replace(/_/g, "/").padEnd(44, "="));

export function linkCodeOf(linkId: string, publicKey: Uint8Array): LinkCode {
  return {
    code: `${linkId.slice(0, 5)}-${linkId.slice(5)}`,
    qrPayload: `${QR_PREFIX}${linkId}:${b64url(publicKey)}`,
  };
}

/**
 * Reads what the user typed or scanned: a QR payload (link id and key), or a short code as
 * typed (any case, spaces or dashes, Crockford's look-alikes I/L for 1 and O for 0).
 * Throws ParleyClientError `link_invalid`.
 */
export function parseLinkCode(input: string): { linkId: string; publicKey?: Uint8Array } {
  const text = input.trim();
  if (text.startsWith(QR_PREFIX)) {
    const [linkId, key] = text.slice(QR_PREFIX.length).split(":");
    if (linkId === undefined || key === undefined || !/^[0-9A-HJKMNP-TV-Z]{10}$/.test(linkId))
      throw new ParleyClientError("link_invalid");
    let publicKey: Uint8Array;
    try {
      publicKey = fromB64url(key);
    } catch {
      throw new ParleyClientError("link_invalid");
    }
    if (publicKey.length !== 32) throw new ParleyClientError("link_invalid");
    return { linkId, publicKey };
  }
  const linkId = text.toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
  if (!/^[0-9A-HJKMNP-TV-Z]{10}$/.test(linkId)) throw new ParleyClientError("link_invalid");
  return { linkId };
}

export function encodeLinkPayload(p: LinkPayload): Uint8Array {
  return utf8ToBytes(
    JSON.stringify({
      v: 1,
      accountId: p.userId, // the sealed JSON's key since version 1
      identityKey: bytesToBase64(p.identityKey.privateKey),
      verified: p.verified.map((m) => ({ userId: m.userId, identityKey: bytesToBase64(m.identityKey) })),
    }),
  );
}

export function decodeLinkPayload(bytes: Uint8Array): LinkPayload {
  const value = parseJson(bytesToUtf8(bytes)) as {
    v?: unknown;
    accountId?: unknown;
    identityKey?: unknown;
    verified?: unknown;
  } | null;
  if (
    value === null ||
    value.v !== 1 ||
    typeof value.accountId !== "string" ||
    typeof value.identityKey !== "string"
  )
    throw new ParleyClientError("link_invalid");
  const verified: LinkedMark[] = [];
  for (const m of Array.isArray(value.verified) ? (value.verified as unknown[]) : []) {
    const mark = m as { userId?: unknown; identityKey?: unknown } | null;
    if (mark !== null && typeof mark.userId === "string" && typeof mark.identityKey === "string") {
      const key = base64ToBytes(mark.identityKey);
      if (key.length === 32) verified.push({ userId: mark.userId, identityKey: key });
    }
  }
  return {
    userId: value.accountId,
    identityKey: identityKeyFromSeed(base64ToBytes(value.identityKey)),
    verified,
  };
}

// ---------------------------------------------------------------------------------------------
// The new device's side

/** A link the new device opened: show `code`/`qrPayload`, then the SAS, then confirm. */
export interface PendingLink extends LinkCode {
  readonly linkId: string;
  readonly expiresAt: number;
  /** Resolves with the six-digit SAS once a device of the account joined; compare it on both screens. */
  readonly sas: Promise<string>;
  /** Resolves once the identity arrived, the user confirmed, and this device is set up. */
  readonly done: Promise<void>;
  /** The user saw the same SAS on both devices. */
  confirm(): void;
  /** Gives up (also tells the other device). */
  cancel(): Promise<void>;
}

type Deferred<T> = { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void };
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a caller may watch only one of them
  return { promise, resolve, reject };
}

/** The new device's state machine; the client feeds it the pushed `link.*` frames. */
export class NewDeviceLink {
  readonly #secret: LinkSecret = newLinkSecret();
  readonly linkId = newLinkId();
  #key: Uint8Array | undefined;
  readonly #sas = deferred<string>();
  readonly #payload = deferred<Uint8Array>();
  readonly #confirmed = deferred<void>();

  constructor(private readonly server: Pick<Connection, "request">) {}

  /** Opens the link on the server; `finish` sets this device up from the payload. */
  async open(finish: (payload: LinkPayload) => Promise<void>): Promise<PendingLink> {
    const answer = await this.server.request(
      { type: "link.open", linkId: this.linkId, publicKey: bytesToBase64(this.#secret.publicKey) },
      "link.opened",
    );
    const done = (async () => {
      const [sealed] = await Promise.all([this.#payload.promise, this.#confirmed.promise]);
      if (this.#key === undefined) throw new ParleyClientError("link_cancelled");
      const payload = decodeLinkPayload(openLinkPayload(this.#key, this.linkId, sealed));
      await finish(payload);
    })();
    done.catch(() => {});
    return {
      linkId: this.linkId,
      ...linkCodeOf(this.linkId, this.#secret.publicKey),
      expiresAt: answer.expiresAt,
      sas: this.#sas.promise,
      done,
      confirm: () => this.#confirmed.resolve(),
      cancel: async () => {
        this.closed();
        await this.server.request({ type: "link.cancel", linkId: this.linkId }, "ok").catch(() => {});
      },
    };
  }

  joined(frame: ServerFrameOf<"link.joined">): void {
    try {
      const peer = base64ToBytes(frame.publicKey);
      const keys = deriveLinkKeys(this.#secret, peer, this.linkId, this.#secret.publicKey, peer);
      this.#key = keys.key;
      this.#sas.resolve(keys.sas);
    } catch (e) {
      this.#fail(e);
    }
  }

  payload(frame: ServerFrameOf<"link.payload">): void {
    try {
      this.#payload.resolve(base64ToBytes(frame.payload));
    } catch (e) {
      this.#fail(e);
    }
  }

  closed(): void {
    this.#fail(new ParleyClientError("link_cancelled"));
  }

  #fail(e: unknown): void {
    this.#sas.reject(e);
    this.#payload.reject(e);
    this.#confirmed.reject(e);
  }
}

// ---------------------------------------------------------------------------------------------
// The existing device's side

/** An existing device joined a new device's link: compare `sas`, then confirm (sends the identity). */
export interface JoinedLink {
  readonly linkId: string;
  /** The new device's id (its label, once it has one). */
  readonly deviceId: string;
  readonly sas: string;
  /** Sends the identity key (and verification marks) to the new device, sealed to the link. */
  confirm(): Promise<void>;
  cancel(): Promise<void>;
}

export async function joinLink(
  server: Pick<Connection, "request">,
  input: string,
  payload: () => Promise<LinkPayload>,
): Promise<JoinedLink> {
  const { linkId, publicKey: scanned } = parseLinkCode(input);
  const own = newLinkSecret();
  const peer = await server.request(
    { type: "link.join", linkId, publicKey: bytesToBase64(own.publicKey) },
    "link.peer",
  );
  const newKey = base64ToBytes(peer.publicKey);
  if (scanned !== undefined && !equalBytes(scanned, newKey)) {
    await server.request({ type: "link.cancel", linkId }, "ok").catch(() => {});
    throw new ParleyClientError("link_mismatch");
  }
  const keys = deriveLinkKeys(own, newKey, linkId, newKey, own.publicKey);
  return {
    linkId,
    deviceId: peer.deviceId,
    sas: keys.sas,
    async confirm() {
      const sealed = sealLinkPayload(keys.key, linkId, encodeLinkPayload(await payload()));
      await server.request({ type: "link.send", linkId, payload: bytesToBase64(sealed) }, "ok");
    },
    async cancel() {
      await server.request({ type: "link.cancel", linkId }, "ok").catch(() => {});
    },
  };
}
