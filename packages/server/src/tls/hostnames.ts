import { isIP } from "node:net";
import os from "node:os";

// RFC 1123 §2.1 host names: labels of letters, digits and hyphens, 1-63 octets, not starting
// or ending with a hyphen; at most 253 octets in all (RFC 1035 §2.3.4).
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True for a host name that may go into a certificate's DNS SAN (lowercase, no trailing dot). */
export function isValidHostname(name: string): boolean {
  return name.length <= 253 && name.split(".").every((label) => LABEL.test(label));
}

/** Lowercases and strips one trailing dot: DNS names compare case-insensitively (RFC 4343). */
export function normalizeHostname(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/**
 * The names a LAN client may type to reach this machine: "localhost", the OS host name and
 * its mDNS name (RFC 6762: the first label plus ".local", which is what Avahi and Bonjour
 * answer for; a host name that already ends in ".local", as on macOS, is kept as is).
 * Lowercased and deduplicated. A host name that is not a valid DNS name (an underscore, say)
 * is left out rather than put into a certificate that clients would reject.
 */
export function defaultHostnames(hostname: string = os.hostname()): string[] {
  const names = ["localhost"];
  const host = normalizeHostname(hostname);
  if (isValidHostname(host)) {
    names.push(host);
    names.push(host.endsWith(".local") ? host : `${host.split(".")[0]}.local`);
  }
  return [...new Set(names)];
}

/**
 * Every address of every interface, IPv4 and IPv6, loopback included, in the order the OS
 * lists them, without duplicates. IPv6 zone ids ("fe80::1%eth0") are dropped: a zone names an
 * interface on this host only and cannot appear in a certificate's iPAddress SAN (RFC 5280
 * §4.2.1.6 encodes the 16 address octets, nothing else).
 */
export function interfaceAddresses(
  interfaces: ReturnType<typeof os.networkInterfaces> = os.networkInterfaces(),
): string[] {
  const out = new Set<string>();
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const address = info.address.split("%")[0] ?? "";
      if (isIP(address) !== 0) out.add(address);
    }
  }
  return [...out];
}
