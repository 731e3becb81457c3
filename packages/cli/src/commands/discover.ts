// `parley discover`: lists the Parley servers announced on the LAN, optionally checking each one.
import { isIP } from "node:net";
import { parseCommand, wantsHelp } from "../args.js";
import { EXIT, usageError } from "../cli-error.js";
import { defaultConfigDir } from "../config-dir.js";
import { KnownServers } from "../known-servers.js";
import { browseParleyServers, type DiscoveredServer } from "../mdns-browser.js";
import { type AnnouncementCheck, checkAnnouncement } from "../server-trust.js";

const USAGE = `usage: parley discover [--timeout SECONDS] [--interface IP] [--check] [--json]
                       [--config-dir DIR]

Lists the Parley servers that advertise themselves on the LAN over mDNS/DNS-SD (_parley._tcp):
name, address, port, TLS and CA fingerprint, and whether you pinned that server's CA before.
Anyone on the LAN can announce anything: compare the fingerprint with the one the server
printed at start. Exits 0 also when none answers.

  --timeout SECONDS   how long to listen (default 3; 0.5 to 60)
  --interface IP      IPv4 address of the one interface to ask on (default: every interface)
  --check             also connect to each server: does it prove, in a verified TLS handshake,
                      a key certified by the CA its announcement names? (sends no request)
  --json              print {"servers": [...]} instead of text
  --config-dir DIR    where pinned servers are kept (default: $XDG_CONFIG_HOME/parley)
`;

const OPTIONS = {
  timeout: { type: "string" },
  interface: { type: "string" },
  check: { type: "boolean" },
  json: { type: "boolean" },
  "config-dir": { type: "string" },
} as const;

/** Per server, the time allowed for the handshakes of --check. */
const CHECK_TIMEOUT_MS = 5000;

interface Listed extends DiscoveredServer {
  /** The CA fingerprint pinned for this server's URL, if it was ever pinned here. */
  pinned: string | null;
  /** With --check. */
  check?: AnnouncementCheck;
}

/** `parley discover`: see USAGE. */
export async function discoverCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const { values, positionals } = parseCommand(argv, OPTIONS, "discover");
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, "discover");
  const timeoutS = Number(values.timeout ?? "3");
  if (!Number.isFinite(timeoutS) || timeoutS < 0.5 || timeoutS > 60) {
    throw usageError("--timeout must be a number of seconds from 0.5 to 60", "discover");
  }
  const iface = values.interface ?? null;
  if (iface !== null && isIP(iface) !== 4) {
    throw usageError("--interface must be the IPv4 address of an interface", "discover");
  }

  const found = await browseParleyServers({
    timeoutMs: Math.round(timeoutS * 1000),
    interfaceAddress: iface,
  });
  const known = await KnownServers.load(values["config-dir"] ?? defaultConfigDir());
  const servers: Listed[] = await Promise.all(
    found.map(async (s) => {
      const url = s.url === null ? null : new URL(s.url);
      const listed: Listed = { ...s, pinned: url === null ? null : (known.get(url)?.caFingerprint ?? null) };
      if (values.check && url !== null && s.tls) {
        listed.check = await checkAnnouncement(url, s.caFingerprint, CHECK_TIMEOUT_MS);
      }
      return listed;
    }),
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ servers })}\n`);
    return EXIT.ok;
  }
  if (servers.length === 0) {
    process.stdout.write("no Parley servers found\n");
    return EXIT.ok;
  }
  const lines: string[] = [];
  for (const s of servers) {
    const others = s.addresses.filter((a) => a !== s.address);
    lines.push(s.name);
    lines.push(
      `  address   ${s.address ?? "unknown"}${others.length > 0 ? ` (also ${others.join(", ")})` : ""}`,
    );
    lines.push(`  port      ${s.port}`);
    lines.push(`  tls       ${s.tls ? "yes" : "no"}`);
    lines.push(`  CA        ${s.caFingerprint ?? "none announced"}`);
    lines.push(`  pinned    ${pinnedLine(s)}`);
    if (s.check) lines.push(...checkLines(s.check));
    lines.push(`  protocol  ${s.protocolVersion ?? "unknown"}`);
    if (s.url) lines.push(`  url       ${s.url}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

function pinnedLine(s: Listed): string {
  if (s.pinned === null) return "no";
  if (s.pinned === s.caFingerprint) return "yes, this CA";
  return `ANOTHER CA: ${s.pinned}`;
}

function checkLines(c: AnnouncementCheck): string[] {
  switch (c.status) {
    case "verified":
      return ["  check     verified: the server holds a key this CA certified"];
    case "not_announced":
      return [`  check     no CA announced; the server presents ${c.presented}`];
    case "unreachable":
      return [`  check     unreachable: ${c.detail}`];
    case "differs":
      return [
        `  check     DIFFERS: ${c.detail}; someone may be impersonating it`,
        `            presented ${c.presented}`,
      ];
  }
}
