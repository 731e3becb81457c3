// `parley chat` without a URL: lists the servers announced on the LAN and lets the person pick one.
import { CliError, EXIT } from "../cli-error.js";
import { fingerprintRows } from "../fingerprint-rows.js";
import { type BrowseOptions, browseParleyServers, type DiscoveredServer } from "../mdns-browser.js";
import type { Screen } from "./screen.js";

/**
 * `parley chat` without a URL: the servers announced on the LAN (the same browsing as `parley
 * discover`), one to pick by number. The announcement is unauthenticated; the CA it names is
 * shown so it can be compared, and the server is then pinned like any other (server-trust.ts),
 * which refuses it on first use when the CA it presents is not the one announced.
 */
export interface PickedServer {
  url: URL;
  /** The CA fingerprint its announcement named (unauthenticated), or null. */
  announcedFingerprint: string | null;
}

export async function pickServer(screen: Screen, options: BrowseOptions): Promise<PickedServer> {
  screen.print(`looking for Parley servers on the LAN for ${options.timeoutMs / 1000} s…`);
  const servers = (await browseParleyServers(options)).filter((s) => s.url !== null);
  if (servers.length === 0) {
    throw new CliError(
      "no Parley server found on the LAN; give its URL: parley chat https://host:port",
      EXIT.failed,
    );
  }
  screen.printUnwrapped(...serverChoices(servers));
  const answer = await screen.ask(`Which server? [1-${servers.length}]`);
  const chosen = choose(servers, answer);
  if (chosen?.url == null) throw new CliError("no server chosen", EXIT.usage);
  return { url: new URL(chosen.url), announcedFingerprint: chosen.caFingerprint };
}

/** The numbered list shown to pick from. */
export function serverChoices(servers: readonly DiscoveredServer[]): string[] {
  return servers.flatMap((s, i) => [
    `${String(i + 1).padStart(2)}. ${s.name}  ${s.url}`,
    ...(s.caFingerprint === null ? ["    CA none announced"] : fingerprintRows("    CA ", s.caFingerprint)),
  ]);
}

/** The server numbered `answer` (1-based), or undefined. */
export function choose(
  servers: readonly DiscoveredServer[],
  answer: string | undefined,
): DiscoveredServer | undefined {
  const n = Number((answer ?? "").trim());
  if (!Number.isInteger(n) || n < 1 || n > servers.length) return undefined;
  return servers[n - 1];
}
