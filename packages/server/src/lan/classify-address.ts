import { isIPv4, isIPv6 } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * What kind of network a peer address belongs to, from the server's point of view.
 *
 * - `loopback`: this host (127.0.0.0/8, RFC 1122 §3.2.1.3; ::1, RFC 4291 §2.5.3).
 * - `private`: RFC 1918 (10/8, 172.16/12, 192.168/16) and RFC 6598 shared address space
 *   (100.64.0.0/10). Shared space is the CGNAT range, reserved for addresses on the ISP's side
 *   of the NAT; it is never routed on the internet (RFC 6598 §7), and in practice it is also
 *   what Tailscale and some campus, hotel and mobile-hotspot networks hand to their clients.
 *   A source in it reached us without crossing the public internet, so it counts as private.
 *   The cost: everyone behind the same carrier NAT shares it; an operator who does not want
 *   that turns LAN-only mode into an explicit `allowCidrs` list.
 * - `linkLocal`: 169.254.0.0/16 (RFC 3927) and fe80::/10 (RFC 4291 §2.5.6): the same link.
 * - `uniqueLocal`: fc00::/7 (RFC 4193), the IPv6 counterpart of RFC 1918.
 * - `public`: every other unicast address. This includes special-purpose blocks that are
 *   not globally routable but are not a LAN either (documentation, benchmarking 198.18/15,
 *   240/4, deprecated site-local fec0::/10, NAT64 64:ff9b::/96 which embeds public IPv4): LAN-only
 *   mode refuses them unless `allowCidrs` names them, which is the safe side to err on.
 * - `invalid`: not an IP address in canonical text form (Node's socket addresses always are),
 *   or an address that can never be the source of a connection: unspecified (0.0.0.0/8, ::),
 *   limited broadcast and multicast (RFC 1122 §3.2.1.3, RFC 4291 §2.7).
 *
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), which a dual-stack socket
 * reports for IPv4 peers, are classified as the IPv4 address they carry. An IPv6 zone id
 * ("fe80::1%eth0") names an interface of this host and does not change the class.
 */
export type AddressClass = "loopback" | "private" | "linkLocal" | "uniqueLocal" | "public" | "invalid";

/**
 * Parses a peer address strictly, then classifies it with ipaddr.js. node:net decides what is
 * an address: dotted-quad IPv4 without leading zeros, or IPv6 with an optional zone id.
 * ipaddr.js on its own also takes inet_aton forms ("127.1", "0x7f.0.0.1", "::ffff:0x7f.0.0.1"),
 * which no socket reports and which would only let a garbage string pass for an address.
 * Returns undefined for anything else. IPv4-mapped addresses come back as IPv4.
 */
export function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (isIPv4(ip)) return ipaddr.IPv4.parse(ip);
  if (!isIPv6(ip)) return undefined;
  const v6 = ipaddr.IPv6.parse(ip);
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

export function classifyAddress(ip: string): AddressClass {
  const address = parseAddress(ip);
  return address === undefined ? "invalid" : classifyParsed(address);
}

/** The class of an address already parsed by `parseAddress`. */
export function classifyParsed(address: ipaddr.IPv4 | ipaddr.IPv6): AddressClass {
  const range = address.range();
  if (address.kind() === "ipv4") {
    switch (range) {
      case "loopback":
        return "loopback";
      case "private":
      case "carrierGradeNat":
        return "private";
      case "linkLocal":
        return "linkLocal";
      case "unspecified":
      case "broadcast":
      case "multicast":
        return "invalid";
      default:
        return "public";
    }
  }
  switch (range) {
    case "loopback":
      return "loopback";
    case "linkLocal":
      return "linkLocal";
    case "uniqueLocal":
      return "uniqueLocal";
    case "unspecified":
    case "multicast":
      return "invalid";
    default:
      return "public";
  }
}
