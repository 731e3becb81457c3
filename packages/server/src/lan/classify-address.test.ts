import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AddressClass, classifyAddress } from "./classify-address.js";

const table: [string, AddressClass, string][] = [
  // IPv4
  ["127.0.0.1", "loopback", "RFC 1122 loopback"],
  ["127.255.255.254", "loopback", "all of 127/8"],
  ["10.0.0.1", "private", "RFC 1918 10/8"],
  ["172.16.0.1", "private", "RFC 1918 172.16/12, low end"],
  ["172.31.255.254", "private", "RFC 1918 172.16/12, high end"],
  ["172.32.0.1", "public", "just outside 172.16/12"],
  ["172.15.255.255", "public", "just below 172.16/12"],
  ["192.168.1.5", "private", "RFC 1918 192.168/16"],
  ["100.64.0.1", "private", "RFC 6598 shared address space"],
  ["100.127.255.254", "private", "RFC 6598, high end"],
  ["100.128.0.1", "public", "just outside 100.64/10"],
  ["169.254.10.20", "linkLocal", "RFC 3927"],
  ["8.8.8.8", "public", "global unicast"],
  ["1.1.1.1", "public", "global unicast"],
  ["192.0.2.10", "public", "RFC 5737 documentation: not a LAN"],
  ["198.18.0.1", "public", "RFC 2544 benchmarking: not a LAN"],
  ["240.0.0.1", "public", "reserved 240/4: not a LAN"],
  ["0.0.0.0", "invalid", "unspecified: never a source"],
  ["0.1.2.3", "invalid", "0/8 'this network': never a source"],
  ["255.255.255.255", "invalid", "limited broadcast"],
  ["224.0.0.251", "invalid", "multicast (mDNS group)"],
  ["239.255.255.250", "invalid", "multicast (SSDP group)"],
  // IPv6
  ["::1", "loopback", "RFC 4291 §2.5.3"],
  ["0:0:0:0:0:0:0:1", "loopback", "uncompressed ::1"],
  ["fe80::1", "linkLocal", "RFC 4291 §2.5.6"],
  ["FE80::ABCD:1", "linkLocal", "upper-case hex"],
  ["febf:ffff::1", "linkLocal", "end of fe80::/10"],
  ["fc00::1", "uniqueLocal", "RFC 4193 fc00::/7"],
  ["fd12:3456:789a::1", "uniqueLocal", "RFC 4193 locally assigned"],
  ["2001:4860:4860::8888", "public", "global unicast"],
  ["2001:db8::1", "public", "RFC 3849 documentation: not a LAN"],
  ["fec0::1", "public", "deprecated site-local (RFC 3879): not a LAN"],
  ["64:ff9b::808:808", "public", "NAT64 of a public IPv4"],
  ["::", "invalid", "unspecified"],
  ["ff02::fb", "invalid", "multicast (mDNS group)"],
  // IPv4-mapped IPv6 (RFC 4291 §2.5.5.2): the IPv4 address decides
  ["::ffff:192.168.1.5", "private", "mapped RFC 1918"],
  ["::ffff:c0a8:105", "private", "mapped RFC 1918, hex form"],
  ["::FFFF:127.0.0.1", "loopback", "mapped loopback"],
  ["::ffff:169.254.1.1", "linkLocal", "mapped link-local"],
  ["::ffff:100.64.1.1", "private", "mapped shared address space"],
  ["::ffff:8.8.8.8", "public", "mapped public"],
  ["::ffff:0.0.0.0", "invalid", "mapped unspecified"],
  // Zone ids name an interface of this host and do not change the class
  ["fe80::1%eth0", "linkLocal", "zone id"],
  ["fe80::1%25", "linkLocal", "numeric zone id"],
  ["::1%lo", "loopback", "zone on loopback"],
  ["fd00::1%wlan0", "uniqueLocal", "zone on a ULA"],
  // Not addresses
  ["", "invalid", "empty"],
  ["localhost", "invalid", "a host name"],
  ["192.168.1", "invalid", "three parts"],
  ["192.168.1.256", "invalid", "octet out of range"],
  ["192.168.01.1", "invalid", "leading zero (octal in inet_aton)"],
  ["127.1", "invalid", "inet_aton short form"],
  ["0x7f.0.0.1", "invalid", "inet_aton hex form"],
  ["2130706433", "invalid", "inet_aton integer form"],
  ["::ffff:0x7f.0.0.1", "invalid", "mapped hex form"],
  [" 10.0.0.1", "invalid", "leading space"],
  ["10.0.0.1 ", "invalid", "trailing space"],
  ["10.0.0.0/8", "invalid", "a CIDR, not an address"],
  ["192.168.1.1%eth0", "invalid", "zone id on IPv4"],
  ["fe80::1%", "invalid", "empty zone id"],
  ["[::1]", "invalid", "URL brackets"],
  ["1::2::3", "invalid", "two ::"],
  ["gggg::1", "invalid", "not hex"],
  ["1:2:3:4:5:6:7:8:9", "invalid", "nine groups"],
];

describe("classifyAddress", () => {
  for (const [ip, expected, why] of table) {
    it(`classifies ${JSON.stringify(ip)} as ${expected} (${why})`, () => {
      assert.equal(classifyAddress(ip), expected);
    });
  }
});
