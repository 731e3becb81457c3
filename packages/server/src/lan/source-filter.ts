import { isIPv4, isIPv6 } from "node:net";
import ipaddr from "ipaddr.js";
import { type AddressClass, classifyParsed, parseAddress } from "./classify-address.js";

export interface SourceFilterOptions {
  /**
   * Accept only peers on this host or a local network: loopback, private (RFC 1918 and RFC
   * 6598), link-local and unique-local addresses, plus `allowCidrs`. Default in the server
   * configuration: true.
   */
  lanOnly: boolean;
  /**
   * Extra networks ("192.0.2.0/24", "2001:db8::/32"; a bare address means just that host).
   * With `lanOnly` they add to the LAN ranges; without it they are the only networks allowed,
   * loopback aside. Empty without `lanOnly`: every peer is allowed.
   */
  allowCidrs: string[];
}

/** Decides, per connection, whether a peer address may talk to the server at all. */
export type SourceFilter = (ip: string | undefined) => boolean;

const LAN_CLASSES: ReadonlySet<AddressClass> = new Set(["loopback", "private", "linkLocal", "uniqueLocal"]);

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Builds the connection filter once, at start-up: the CIDR list is parsed here, so the
 * returned function only parses the peer's address and compares it with a few prefixes.
 * Addresses that cannot be a peer (garbage, unspecified, multicast) are refused in every
 * mode, including "allow all". IPv4-mapped IPv6 peers are matched as IPv4, so "10.0.0.0/8"
 * covers ::ffff:10.1.2.3 too.
 *
 * @throws {TypeError} naming the entry, if an entry of `allowCidrs` is not a valid CIDR.
 */
export function createSourceFilter(options: SourceFilterOptions): SourceFilter {
  const cidrs = options.allowCidrs.map(parseCidr);
  const v4 = cidrs.filter((c): c is [ipaddr.IPv4, number] => c[0] instanceof ipaddr.IPv4);
  const v6 = cidrs.filter((c): c is [ipaddr.IPv6, number] => c[0] instanceof ipaddr.IPv6);
  const byClass: (kind: AddressClass) => boolean = options.lanOnly
    ? (kind) => LAN_CLASSES.has(kind)
    : cidrs.length === 0
      ? () => true
      : // Loopback stays open so the operator's own tools and health checks keep working.
        (kind) => kind === "loopback";

  return (ip) => {
    const address = ip === undefined ? undefined : parseAddress(ip);
    if (address === undefined) return false;
    const kind = classifyParsed(address);
    if (kind === "invalid") return false;
    if (byClass(kind)) return true;
    return address instanceof ipaddr.IPv4
      ? v4.some(([range, bits]) => address.match(range, bits))
      : v6.some(([range, bits]) => address.match(range, bits));
  };
}

/**
 * Parses "address/prefix" or a bare address (a single host: /32 or /128), strictly: the
 * address as node:net accepts it, no zone id, a decimal prefix within range. Host bits below
 * the prefix are allowed ("192.168.1.7/24" means 192.168.1.0/24), as in most firewall
 * syntaxes. An IPv4-mapped IPv6 prefix of /96 or longer becomes the IPv4 prefix it denotes,
 * because peers are matched as IPv4.
 */
function parseCidr(entry: string): Cidr {
  const slash = entry.indexOf("/");
  const text = slash === -1 ? entry : entry.slice(0, slash);
  const prefix = slash === -1 ? undefined : entry.slice(slash + 1);
  const isV4 = isIPv4(text);
  if (!isV4 && (!isIPv6(text) || text.includes("%"))) {
    throw new TypeError(`invalid CIDR "${entry}": not an IP address`);
  }
  const max = isV4 ? 32 : 128;
  let bits = max;
  if (prefix !== undefined) {
    if (!/^(0|[1-9]\d{0,2})$/.test(prefix) || Number(prefix) > max) {
      throw new TypeError(`invalid CIDR "${entry}": prefix length must be 0-${max}`);
    }
    bits = Number(prefix);
  }
  if (isV4) return [ipaddr.IPv4.parse(text), bits];
  const v6 = ipaddr.IPv6.parse(text);
  if (v6.isIPv4MappedAddress() && bits >= 96) return [v6.toIPv4Address(), bits - 96];
  return [v6, bits];
}

/**
 * Splits a configuration value such as "10.0.0.0/8, 192.168.5.0/24 fd00::/8" on commas and
 * whitespace and validates every entry.
 *
 * @throws {TypeError} naming the first invalid entry.
 */
export function parseCidrList(s: string): string[] {
  const entries = s.split(/[\s,]+/).filter((entry) => entry !== "");
  for (const entry of entries) parseCidr(entry);
  return entries;
}
