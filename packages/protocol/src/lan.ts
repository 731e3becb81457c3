/**
 * LAN discovery (LAN-1 in docs/PROTOCOL.md): a server announces itself over mDNS/DNS-SD
 * (RFC 6762, RFC 6763) as `_parley._tcp`, with a TXT record that says what a client checks
 * before it trusts the server. The server's advertiser and the CLI's browser both use these
 * names, so the two cannot drift apart.
 */

/** The DNS-SD service type, without the leading underscore and protocol: `_parley._tcp`. */
export const MDNS_SERVICE_TYPE = "parley";

/** The keys of the TXT record (RFC 6763 §6.4: short, case-insensitive). */
export const MDNS_TXT = {
  /** The server's PROTOCOL_VERSION, as decimal digits. */
  version: "v",
  /** The SHA-256 fingerprint of the server's CA, `AB:CD:…` (32 pairs); empty when there is none. */
  caFingerprint: "fp",
  /** "1" when the server speaks HTTPS, "0" for plain HTTP. */
  tls: "tls",
} as const;
