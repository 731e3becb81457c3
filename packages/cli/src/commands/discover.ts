import { isIP } from "node:net";
import { parseCommand, wantsHelp } from "../args.js";
import { EXIT, usageError } from "../cli-error.js";
import { browseParleyServers } from "../mdns-browser.js";

const USAGE = `usage: parley discover [--timeout SECONDS] [--interface IP] [--json]

Lists the Parley servers that advertise themselves on the LAN over mDNS/DNS-SD (_parley._tcp):
name, address, port, TLS and CA fingerprint. Exits 0 also when none answers.

  --timeout SECONDS   how long to listen (default 3; 0.5 to 60)
  --interface IP      IPv4 address of the one interface to ask on (default: every interface)
  --json              print {"servers": [...]} instead of text
`;

const OPTIONS = {
  timeout: { type: "string" },
  interface: { type: "string" },
  json: { type: "boolean" },
} as const;

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

  const servers = await browseParleyServers({
    timeoutMs: Math.round(timeoutS * 1000),
    interfaceAddress: iface,
  });
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
    lines.push(`  protocol  ${s.protocolVersion ?? "unknown"}`);
    if (s.url) lines.push(`  url       ${s.url}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  return EXIT.ok;
}
