import type { EventEmitter } from "node:events";
import { networkInterfaces, hostname as osHostname } from "node:os";
import { MDNS_SERVICE_TYPE, MDNS_TXT, PROTOCOL_VERSION } from "@parley/protocol";
import { Bonjour, type Service, type ServiceConfig } from "bonjour-service";
import type { Logger } from "pino";

/**
 * Announces the server on the LAN over mDNS/DNS-SD (RFC 6762, RFC 6763) as `_parley._tcp`, so
 * `parley discover` and the terminal client find it without anyone typing an address.
 *
 * The TXT record (RFC 6763 §6) carries what a client checks before it trusts the server:
 *   v    the server's PROTOCOL_VERSION
 *   fp   the local CA's SHA-256 fingerprint (AB:CD:…), empty when there is none
 *   tls  "1" when the server speaks HTTPS, "0" when plain HTTP
 * The keys are MDNS_TXT in @parley/protocol (LAN-1), which packages/cli/src/mdns-browser.ts reads too.
 *
 * Pinned to one interface (`interfaceAddress`), every packet goes out on that interface only
 * (IP_MULTICAST_IF) and only that interface's addresses are announced: the tests rely on this to
 * keep multicast inside a network namespace, and an operator uses it to stay off a second network.
 */
export const PARLEY_SERVICE_TYPE = MDNS_SERVICE_TYPE;

export interface MdnsAdvertiserOptions {
  port: number;
  caFingerprint: string | null;
  tls: boolean;
  /** IPv4 address of the one interface to use; null: every interface. */
  interfaceAddress: string | null;
  log: Logger;
  /** Default: the machine's short host name. */
  hostname?: string;
}

export interface MdnsAdvertiser {
  /** The instance name in use, e.g. "Parley on lab-pc" or, after a conflict, "Parley on lab-pc (2)". */
  readonly name: string;
  /** Sends goodbye packets (TTL 0, RFC 6762 §10.1) and closes the socket. Safe to call twice. */
  stop(): Promise<void>;
}

/** The TXT record of a server, as announced. */
export function parleyTxtRecord(options: {
  caFingerprint: string | null;
  tls: boolean;
}): Record<string, string> {
  return {
    [MDNS_TXT.version]: String(PROTOCOL_VERSION),
    [MDNS_TXT.caFingerprint]: options.caFingerprint ?? "",
    [MDNS_TXT.tls]: options.tls ? "1" : "0",
  };
}

// Probing (RFC 6762 §8.1) takes three queries 250 ms apart; a service not announced well after
// that lost its name to another host.
const CONFLICT_CHECK_MS = 3_000;
const MAX_RENAMES = 8;
const GOODBYE_WAIT_MS = 1_000;

/** Starts advertising. Failures are logged and never stop the server: discovery is a convenience. */
export function startMdnsAdvertiser(options: MdnsAdvertiserOptions): MdnsAdvertiser {
  const log = options.log.child({ component: "mdns" });
  const host = (options.hostname ?? osHostname()).split(".")[0] || "parley";
  const reported = new Set<string>();
  const warnOnce = (err: unknown, what: string) => {
    const key = `${what}:${(err as { code?: string }).code ?? String(err)}`;
    if (reported.has(key)) return;
    reported.add(key);
    log.warn({ err, event: "mdns_error" }, `mDNS ${what} failed`);
  };

  // `interface` picks the interface for memberships and outgoing packets; the socket itself binds
  // the wildcard address, since one bound to a unicast address never receives multicast on Linux.
  const socketOptions = options.interfaceAddress
    ? { interface: options.interfaceAddress, bind: "0.0.0.0" }
    : {};
  // bonjour-service types its first parameter as a service config, but hands it to multicast-dns.
  const bonjour = new Bonjour(socketOptions as unknown as Partial<ServiceConfig>, (err: unknown) =>
    warnOnce(err, "send"),
  );
  // multicast-dns emits "error" when it cannot bind port 5353; unheard, that would crash the server.
  const socket = (bonjour as unknown as { server: { mdns: EventEmitter } }).server.mdns;
  socket.on("error", (err: unknown) => warnOnce(err, "bind"));
  socket.on("warning", (err: unknown) => log.debug({ err, event: "mdns_warning" }, "mDNS warning"));

  const ownAddresses = addressesOf(options.interfaceAddress);
  let stopped = false;
  let attempt = 1;
  let name = "";
  let timer: NodeJS.Timeout | undefined;

  const publish = () => {
    // RFC 6762 §9: after a conflict, pick a new name by adding a number.
    name = attempt === 1 ? `Parley on ${host}` : `Parley on ${host} (${attempt})`;
    const service: Service = bonjour.publish({
      name,
      type: PARLEY_SERVICE_TYPE,
      protocol: "tcp",
      port: options.port,
      host: `${host}.local`,
      txt: parleyTxtRecord(options),
    });
    if (ownAddresses) {
      const all = service.records.bind(service);
      service.records = () =>
        all().filter((r) => (r.type !== "A" && r.type !== "AAAA") || ownAddresses.has(String(r.data)));
    }
    service.once("up", () =>
      log.info(
        { event: "mdns_advertising", name, port: options.port, interface: options.interfaceAddress ?? "all" },
        "advertising on the LAN over mDNS",
      ),
    );
    timer = setTimeout(() => {
      if (stopped || service.published || service.activated) return;
      if (attempt >= MAX_RENAMES) {
        log.warn({ event: "mdns_name_conflict", name }, "every mDNS name tried is in use: not advertising");
        return;
      }
      log.info({ event: "mdns_name_conflict", name }, "mDNS name in use on the network, trying another");
      attempt += 1;
      publish();
    }, CONFLICT_CHECK_MS);
    timer.unref();
  };
  publish();

  let stopping: Promise<void> | undefined;
  return {
    get name() {
      return name;
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await new Promise<void>((resolve) => {
          const giveUp = setTimeout(resolve, GOODBYE_WAIT_MS);
          bonjour.unpublishAll(() => {
            clearTimeout(giveUp);
            resolve();
          });
        });
        await new Promise<void>((resolve) => {
          try {
            bonjour.destroy(() => resolve());
          } catch (err) {
            log.debug({ err, event: "mdns_close_failed" }, "mDNS socket close failed");
            resolve();
          }
        });
      })();
      return stopping;
    },
  };
}

/** Every address of the interface that holds `ipv4`, or null to keep them all. */
function addressesOf(ipv4: string | null): Set<string> | null {
  if (ipv4 === null) return null;
  for (const list of Object.values(networkInterfaces())) {
    if (list?.some((a) => a.address === ipv4)) return new Set(list.map((a) => a.address));
  }
  return new Set([ipv4]);
}
