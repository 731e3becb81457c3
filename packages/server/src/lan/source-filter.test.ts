import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSourceFilter, parseCidrList, type SourceFilter } from "./source-filter.js";

function check(filter: SourceFilter, allowed: string[], refused: (string | undefined)[]): void {
  for (const ip of allowed) assert.equal(filter(ip), true, `${ip} should be allowed`);
  for (const ip of refused) assert.equal(filter(ip), false, `${String(ip)} should be refused`);
}

const LAN = [
  "127.0.0.1",
  "::1",
  "10.1.2.3",
  "172.20.0.5",
  "192.168.1.5",
  "100.100.1.1",
  "169.254.3.4",
  "fe80::1",
  "fe80::1%eth0",
  "fd00::5",
  "::ffff:192.168.1.5",
  "::ffff:127.0.0.1",
];
const PUBLIC = ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "198.51.100.7", "2001:db8::7"];
const NEVER = [undefined, "", "garbage", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "127.1"];

describe("createSourceFilter", () => {
  it("allows loopback, private, shared, link-local and unique-local peers in LAN-only mode", () => {
    check(createSourceFilter({ lanOnly: true, allowCidrs: [] }), LAN, [...PUBLIC, ...NEVER]);
  });

  it("adds allowCidrs to the LAN ranges in LAN-only mode", () => {
    const filter = createSourceFilter({ lanOnly: true, allowCidrs: ["198.51.100.0/24", "2001:db8::/32"] });
    check(
      filter,
      [...LAN, "198.51.100.7", "::ffff:198.51.100.7", "2001:db8::7"],
      ["8.8.8.8", "198.51.101.1", "2001:db9::1", "2001:4860:4860::8888", ...NEVER],
    );
  });

  it("allows every real peer address when not LAN-only and no CIDRs are given", () => {
    check(createSourceFilter({ lanOnly: false, allowCidrs: [] }), [...LAN, ...PUBLIC], NEVER);
  });

  it("allows only the CIDRs and loopback when not LAN-only and CIDRs are given", () => {
    const filter = createSourceFilter({ lanOnly: false, allowCidrs: ["192.168.10.0/24", "fd00:1::/48"] });
    check(
      filter,
      [
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "192.168.10.1",
        "192.168.10.254",
        "::ffff:192.168.10.9",
        "fd00:1::9",
      ],
      ["192.168.11.1", "10.0.0.1", "fd00:2::1", "fe80::1", "8.8.8.8", ...NEVER],
    );
  });

  it("matches IPv4-mapped peers against IPv4 CIDRs and mapped CIDRs against IPv4 peers", () => {
    const filter = createSourceFilter({
      lanOnly: false,
      allowCidrs: ["203.0.113.0/24", "::ffff:198.51.100.0/120"],
    });
    check(
      filter,
      ["::ffff:203.0.113.9", "203.0.113.9", "198.51.100.20", "::ffff:198.51.100.20"],
      ["198.51.101.20"],
    );
  });

  it("treats a bare address as a single host and ignores host bits below the prefix", () => {
    const filter = createSourceFilter({
      lanOnly: false,
      allowCidrs: ["203.0.113.7", "2001:db8::7", "198.51.100.99/24"],
    });
    check(
      filter,
      ["203.0.113.7", "2001:db8::7", "198.51.100.1"],
      ["203.0.113.8", "2001:db8::8", "198.51.101.1"],
    );
  });

  it("accepts /0 prefixes", () => {
    const filter = createSourceFilter({ lanOnly: true, allowCidrs: ["0.0.0.0/0"] });
    check(filter, ["8.8.8.8", "::ffff:1.2.3.4"], ["2001:4860:4860::8888", "0.0.0.0", "224.0.0.1"]);
  });

  it("throws a TypeError naming the entry for an invalid CIDR", () => {
    for (const entry of [
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/-1",
      "10.0.0.0/08",
      "10.0.0.0/8/8",
      "10.0.0.0/ 8",
      "10.1/8",
      "10.0.0.256/8",
      "fe80::/10%eth0",
      "fe80::1%eth0/64",
      "example.com/24",
      "",
      "/24",
    ]) {
      assert.throws(
        () => createSourceFilter({ lanOnly: true, allowCidrs: ["192.168.0.0/16", entry] }),
        (error: unknown) => error instanceof TypeError && error.message.includes(`"${entry}"`),
        JSON.stringify(entry),
      );
    }
  });
});

describe("parseCidrList", () => {
  it("splits on commas and whitespace and drops empty entries", () => {
    assert.deepEqual(parseCidrList(" 10.0.0.0/8, 192.168.5.0/24\tfd00::/8 ,,\n203.0.113.7 "), [
      "10.0.0.0/8",
      "192.168.5.0/24",
      "fd00::/8",
      "203.0.113.7",
    ]);
  });

  it("returns an empty list for an empty or blank string", () => {
    assert.deepEqual(parseCidrList(""), []);
    assert.deepEqual(parseCidrList(" , "), []);
  });

  it("throws a TypeError naming the first invalid entry", () => {
    assert.throws(() => parseCidrList("10.0.0.0/8, 10.0.0.0/40, nope"), /"10\.0\.0\.0\/40"/);
    assert.throws(() => parseCidrList("10.0.0.0/8 nope"), TypeError);
  });

  it("produces entries createSourceFilter accepts", () => {
    const filter = createSourceFilter({
      lanOnly: false,
      allowCidrs: parseCidrList("203.0.113.0/24, 2001:db8::/32"),
    });
    check(filter, ["203.0.113.1", "2001:db8::1"], ["198.51.100.1"]);
  });
});
