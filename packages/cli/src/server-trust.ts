// Decides whether to talk to a server: pins its CA on first use and refuses a changed one unless accepted.
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { type ConnectionOptions, connect, type DetailedPeerCertificate, type TLSSocket } from "node:tls";
import { CliError, EXIT } from "./cli-error.js";
import { fingerprintRows } from "./fingerprint-rows.js";
import { KnownServers, originOf } from "./known-servers.js";
import { printable } from "./printable.js";

/**
 * Decides whether to talk to a server, the way ssh does with host keys: the CA certificate a
 * server presents is pinned by fingerprint the first time its URL is used (trust on first use),
 * and a later CA with another fingerprint is refused until the person accepts it explicitly.
 * `--ca FILE` trusts a given CA instead and pins nothing. Every request afterwards is verified
 * against the trusted CA by TLS itself (chain and host name), so what is pinned is also what is
 * checked. Shared by `parley admin` and, later, `parley chat`.
 */
export interface TrustOptions {
  url: URL;
  /** Where known_servers.json lives. */
  configDir: string;
  /** A CA certificate (PEM file) to trust instead of pinning (`--ca`). */
  caFile?: string | undefined;
  /** Replace a pin that no longer matches (`--accept-new-fingerprint`). */
  acceptNewFingerprint?: boolean;
  /** Asked before a server seen for the first time is pinned; absent (no terminal): pin at once. */
  confirm?: ((question: string) => Promise<boolean>) | undefined;
  /** Where the fingerprint and pinning notices go (stderr). */
  notice: (line: string) => void;
  /**
   * The CA fingerprint the server's mDNS announcement named, when it was picked from the LAN.
   * The announcement is unauthenticated, so it can only make trust stricter: on first use a
   * server presenting another CA is refused; a pinned CA still wins over the announcement.
   */
  announcedFingerprint?: string | null | undefined;
  /** For the certificate probe. Default 10 s. */
  timeoutMs?: number;
}

export interface ServerTrust {
  /** The CA certificate (PEM) to verify every connection against; null for plain HTTP on loopback. */
  readonly ca: string | null;
  readonly caFingerprint: string | null;
  readonly how: "ca-file" | "pinned" | "first-use" | "re-pinned" | "plain-http";
}

export async function trustServer(options: TrustOptions): Promise<ServerTrust> {
  const { url } = options;
  const host = bareHost(url.hostname);
  if (url.protocol === "http:") {
    if (!isLoopback(host)) {
      throw new CliError(
        `plain http:// is only for a server on this machine; use https://${url.host}`,
        EXIT.usage,
      );
    }
    return { ca: null, caFingerprint: null, how: "plain-http" };
  }
  if (url.protocol !== "https:") throw new CliError(`"${url.href}" is not an https:// URL`, EXIT.usage);

  if (options.caFile !== undefined) {
    let pem: string;
    let fingerprint: string;
    try {
      pem = await readFile(options.caFile, "utf8");
      fingerprint = new X509Certificate(pem).fingerprint256;
    } catch (e) {
      throw new CliError(
        `cannot use --ca ${options.caFile}: ${e instanceof Error ? e.message : String(e)}`,
        2,
      );
    }
    return { ca: pem, caFingerprint: fingerprint, how: "ca-file" };
  }

  const known = await KnownServers.load(options.configDir);
  const presented = await presentedCa(url, options.timeoutMs ?? 10_000);
  const origin = originOf(url);
  const pin = known.get(url);
  const announced = options.announcedFingerprint ?? null;
  const unlikeAnnounced = announced !== null && announced !== presented.fingerprint;
  if (pin?.caFingerprint === presented.fingerprint) {
    if (unlikeAnnounced) {
      options.notice(`Warning: the LAN announcement of ${origin} named another CA than the one pinned:`);
      for (const row of fingerprintRows("  announced: ", announced)) options.notice(row);
      options.notice("The pinned CA was used; the announcement may be forged or out of date.");
    }
    return { ca: presented.pem, caFingerprint: presented.fingerprint, how: "pinned" };
  }
  if (pin) {
    if (!options.acceptNewFingerprint) {
      throw new CliError(
        `REFUSED: the CA fingerprint of ${origin} changed since it was pinned; someone may be intercepting the connection`,
        EXIT.untrusted,
        [
          ...fingerprintRows("pinned:  ", pin.caFingerprint),
          ...fingerprintRows("offered: ", presented.fingerprint),
          "If the server's CA really changed, compare the new fingerprint with the one the server printed",
          `at start, then rerun with --accept-new-fingerprint (pins are kept in ${known.file}).`,
        ],
      );
    }
    await known.pin(url, presented.fingerprint);
    options.notice(`The CA of ${origin} changed; pinned the new one (--accept-new-fingerprint):`);
    for (const row of fingerprintRows("  ", presented.fingerprint)) options.notice(row);
    return { ca: presented.pem, caFingerprint: presented.fingerprint, how: "re-pinned" };
  }

  if (unlikeAnnounced) {
    throw new CliError(
      `REFUSED: ${origin} presents another CA than the one announced for it on the LAN; someone may be impersonating it`,
      EXIT.untrusted,
      [
        ...fingerprintRows("announced: ", announced),
        ...fingerprintRows("presented: ", presented.fingerprint),
        "Nothing was pinned. Compare both with the fingerprint the server printed at start, then",
        `connect with its URL: parley chat ${origin}`,
      ],
    );
  }
  options.notice(
    `${origin} is a server not seen before. Its CA ("${presented.subject}") has the fingerprint`,
  );
  for (const row of fingerprintRows("  SHA-256 ", presented.fingerprint)) options.notice(row);
  options.notice(
    announced === null
      ? "Compare it with the fingerprint the server printed at start."
      : "It is the one announced on the LAN, which anyone there can announce: compare it with the fingerprint the server printed at start.",
  );
  if (options.confirm && !(await options.confirm("Trust this server and remember its CA? [y/N] "))) {
    throw new CliError(`not trusted: ${origin} was not pinned`, EXIT.untrusted);
  }
  await known.pin(url, presented.fingerprint);
  options.notice(`Pinned it in ${known.file}.`);
  return { ca: presented.pem, caFingerprint: presented.fingerprint, how: "first-use" };
}

/** What `parley discover --check` learns of one announced server. */
export interface AnnouncementCheck {
  /**
   * verified: the server proved, in a TLS handshake checked against the announced CA (chain and
   * address), that it holds a key that CA certified; differs: it presents another CA, or the
   * announced CA but no key certified by it; not_announced: the announcement named no CA;
   * unreachable: no TLS handshake within the time limit.
   */
  status: "verified" | "differs" | "not_announced" | "unreachable";
  /** The fingerprint of the CA at the top of the chain the server sent, when it answered. */
  presented: string | null;
  /** Why, for `differs` and `unreachable`. */
  detail: string | null;
}

/**
 * Checks an mDNS announcement against the server it names, the way `parley chat` does before
 * it pins anything, without pinning: the CA the server presents must be the one announced, and
 * a handshake verified against that CA must succeed. Sends nothing over either connection.
 */
export async function checkAnnouncement(
  url: URL,
  announced: string | null,
  timeoutMs: number,
): Promise<AnnouncementCheck> {
  let presented: PresentedCa;
  try {
    presented = await presentedCa(url, timeoutMs);
  } catch (e) {
    return { status: "unreachable", presented: null, detail: e instanceof Error ? e.message : String(e) };
  }
  const base = { presented: presented.fingerprint };
  if (announced === null) return { ...base, status: "not_announced", detail: null };
  if (presented.fingerprint !== announced) {
    return { ...base, status: "differs", detail: "the server presents another CA" };
  }
  const refused = await verifiedHandshake(url, presented.pem, timeoutMs);
  return refused === null
    ? { ...base, status: "verified", detail: null }
    : { ...base, status: "differs", detail: `the announced CA does not vouch for it: ${refused}` };
}

/** A TLS handshake that trusts only `caPem` (chain and host name checked); null when it succeeds. */
async function verifiedHandshake(url: URL, caPem: string, timeoutMs: number): Promise<string | null> {
  try {
    (await handshake(url, { ca: caPem, rejectUnauthorized: true }, timeoutMs)).destroy();
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
  }
}

/**
 * One TLS handshake with `url`'s host and port (SNI for a host name), bounded by `timeoutMs`;
 * resolves with the connected socket, on which nothing has been sent, for the caller to end.
 */
function handshake(url: URL, options: ConnectionOptions, timeoutMs: number): Promise<TLSSocket> {
  const host = bareHost(url.hostname);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...options,
    });
    const fail = (e: unknown) => {
      socket.destroy();
      reject(e);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      // The error listener stays: a late reset must not become an unhandled 'error' event.
      socket.setTimeout(0);
      resolve(socket);
    });
  });
}

interface PresentedCa {
  pem: string;
  fingerprint: string;
  subject: string;
}

/**
 * One TLS handshake, unverified on purpose, to read the certificate at the top of the chain the
 * server sends (Parley sends its leaf, then its CA). Nothing is sent over this connection.
 */
async function presentedCa(url: URL, timeoutMs: number): Promise<PresentedCa> {
  const unreachable = (why: string) => new CliError(`cannot reach ${url.origin}: ${why}`, 1);
  let socket: TLSSocket;
  try {
    socket = await handshake(url, { rejectUnauthorized: false }, timeoutMs);
  } catch (e) {
    throw unreachable((e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e)));
  }
  let cert: DetailedPeerCertificate = socket.getPeerCertificate(true);
  socket.end();
  if (!cert?.raw) throw unreachable("the server presented no certificate");
  // Up the chain to its self-signed root, or to the last certificate the server sent.
  for (let depth = 0; depth < 10; depth += 1) {
    const issuer = cert.issuerCertificate;
    if (!issuer?.raw || issuer === cert || issuer.fingerprint256 === cert.fingerprint256) break;
    cert = issuer;
  }
  const x509 = new X509Certificate(cert.raw);
  return { pem: x509.toString(), fingerprint: x509.fingerprint256, subject: commonName(x509.subject) };
}

function commonName(subject: string): string {
  const cn = subject.split("\n").find((l) => l.startsWith("CN="));
  return printable(cn?.slice(3) ?? subject);
}

function bareHost(hostname: string): string {
  return hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}
