// Finds Parley servers on the LAN by DNS-SD over mDNS and validates what they announce.
import type { EventEmitter } from "node:events";
import { isIP } from "node:net";
import { MDNS_SERVICE_TYPE, MDNS_TXT } from "@parley/protocol";
import { Bonjour, type Service, type ServiceConfig } from "bonjour-service";
import { CliError, EXIT } from "./cli-error.js";
import { printable } from "./printable.js";

/**
 * Finds Parley servers on the LAN: DNS-SD browsing (RFC 6763) for `_parley._tcp` over mDNS
 * (RFC 6762). The TXT record is the one packages/server/src/lan/mdns.ts announces (MDNS_TXT in
 * @parley/protocol, LAN-1): `v` protocol version, `fp` CA fingerprint, `tls` "1"/"0". Everything here came from the network unchecked,
 * so it is validated, and shown only after control characters are replaced.
 */
export interface DiscoveredServer {
  /** Instance name, e.g. "Parley on lab-pc". */
  name: string;
  /** The host name in the SRV record, e.g. "lab-pc.local". */
  host: string;
  /** Where the announcement came from: the address to connect to. */
  address: string | null;
  /** Every address the server announced for itself. */
  addresses: string[];
  port: number;
  tls: boolean;
  /** SHA-256 of the server's CA, "AB:CD:…"; null when it announced none (or a malformed one). */
  caFingerprint: string | null;
  protocolVersion: number | null;
  /** e.g. https://192.168.1.20:8443 */
  url: string | null;
}

export interface BrowseOptions {
  /** How long to listen, in milliseconds. */
  timeoutMs: number;
  /** IPv4 address of the one interface to query on; null: every interface. */
  interfaceAddress: string | null;
}

const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

/** Browses for `timeoutMs` and returns the servers still announced at the end, by name. */
export function browseParleyServers(options: BrowseOptions): Promise<DiscoveredServer[]> {
  // As the server does: pinned, memberships and outgoing packets use that interface only, and the
  // socket binds the wildcard address (one bound to a unicast address never receives multicast).
  const socketOptions = options.interfaceAddress
    ? { interface: options.interfaceAddress, bind: "0.0.0.0" }
    : {};
  return new Promise((resolve, reject) => {
    let failure: CliError | undefined;
    const bonjour = new Bonjour(socketOptions as unknown as Partial<ServiceConfig>, (err: unknown) => {
      failure ??= new CliError(`mDNS query failed: ${codeOf(err)}`, EXIT.failed);
    });
    const socket = (bonjour as unknown as { server: { mdns: EventEmitter } }).server.mdns;
    socket.on("error", (err: unknown) => {
      failure ??= new CliError(`cannot listen for mDNS on UDP port 5353: ${codeOf(err)}`, EXIT.failed);
      finish();
    });
    socket.on("warning", () => undefined);

    const browser = bonjour.find({ type: MDNS_SERVICE_TYPE, protocol: "tcp" });
    // RFC 6762 §5.2: repeat the query after 1 s, then at least doubling the interval.
    const timers: NodeJS.Timeout[] = [];
    for (let at = 1000, gap = 2000; at < options.timeoutMs; at += gap, gap *= 2) {
      timers.push(setTimeout(() => browser.update(), at));
    }
    const end = setTimeout(() => finish(), options.timeoutMs);

    let done = false;
    function finish() {
      if (done) return;
      done = true;
      clearTimeout(end);
      for (const t of timers) clearTimeout(t);
      const found = browser.services
        .map(describe)
        .sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port);
      browser.stop();
      bonjour.destroy(() => (failure ? reject(failure) : resolve(found)));
    }
  });
}

function describe(service: Service): DiscoveredServer {
  const txt = readTxt((service as Service & { rawTxt?: unknown }).rawTxt);
  const tls = txt.get(MDNS_TXT.tls) === "1";
  const fp = txt.get(MDNS_TXT.caFingerprint) ?? "";
  const version = txt.get(MDNS_TXT.version) ?? "";
  const addresses = (service.addresses ?? []).filter((a) => isIP(a) !== 0);
  const from = service.referer?.address;
  const address = from && isIP(from) !== 0 ? from : (addresses[0] ?? null);
  const port = Number.isInteger(service.port) && service.port > 0 && service.port < 65536 ? service.port : 0;
  const hostPart = address?.includes(":") ? `[${address}]` : address;
  return {
    name: printable(String(service.name ?? "")),
    host: printable(String(service.host ?? "")),
    address,
    addresses,
    port,
    tls,
    caFingerprint: FINGERPRINT.test(fp) ? fp : null,
    protocolVersion: /^\d{1,6}$/.test(version) ? Number(version) : null,
    url: address && port ? `${tls ? "https" : "http"}://${hostPart}:${port}` : null,
  };
}

/**
 * A TXT record's strings as key -> value (RFC 6763 §6.3-6.4): keys are case-insensitive, a key
 * without "=" has an empty value here, and only a key's first occurrence counts.
 */
export function readTxt(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(raw)) return out;
  for (const item of raw) {
    if (!(item instanceof Uint8Array)) continue;
    const text = Buffer.from(item).toString("utf8");
    const eq = text.indexOf("=");
    const key = (eq === -1 ? text : text.slice(0, eq)).toLowerCase();
    if (key === "" || out.has(key)) continue;
    out.set(key, eq === -1 ? "" : text.slice(eq + 1));
  }
  return out;
}

function codeOf(err: unknown): string {
  return (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
}
