import assert from "node:assert/strict";
import os from "node:os";
import { describe, it } from "node:test";
import { defaultHostnames, interfaceAddresses, isValidHostname } from "./hostnames.js";

describe("defaultHostnames", () => {
  const cases: [string, string[]][] = [
    ["build-box", ["localhost", "build-box", "build-box.local"]],
    ["Build-Box", ["localhost", "build-box", "build-box.local"]],
    ["Johns-MacBook.local", ["localhost", "johns-macbook.local"]],
    ["host.example.com", ["localhost", "host.example.com", "host.local"]],
    ["host.example.com.", ["localhost", "host.example.com", "host.local"]],
    ["localhost", ["localhost", "localhost.local"]],
    ["under_score", ["localhost"]],
    ["", ["localhost"]],
  ];
  for (const [hostname, expected] of cases) {
    it(`gives ${JSON.stringify(expected)} for host name ${JSON.stringify(hostname)}`, () => {
      assert.deepEqual(defaultHostnames(hostname), expected);
    });
  }

  it("uses the OS host name by default", () => {
    assert.deepEqual(defaultHostnames(), defaultHostnames(os.hostname()));
    assert.equal(defaultHostnames()[0], "localhost");
  });
});

describe("interfaceAddresses", () => {
  const info = (address: string, family: "IPv4" | "IPv6", scopeid?: number): os.NetworkInterfaceInfo =>
    family === "IPv4"
      ? { address, family, netmask: "255.255.255.0", mac: "00:00:00:00:00:00", internal: false, cidr: null }
      : {
          address,
          family,
          netmask: "ffff:ffff:ffff:ffff::",
          mac: "00:00:00:00:00:00",
          internal: false,
          cidr: null,
          scopeid: scopeid ?? 0,
        };

  it("lists every IPv4 and IPv6 address, loopback included, without zone ids or duplicates", () => {
    const addresses = interfaceAddresses({
      lo: [info("127.0.0.1", "IPv4"), info("::1", "IPv6")],
      eth0: [info("192.168.1.20", "IPv4"), info("fe80::1%eth0", "IPv6", 2), info("fd12:3456::20", "IPv6")],
      docker0: [info("172.17.0.1", "IPv4")],
      wlan0: undefined,
      eth1: [info("fe80::1", "IPv6", 3)],
    });
    assert.deepEqual(addresses, [
      "127.0.0.1",
      "::1",
      "192.168.1.20",
      "fe80::1",
      "fd12:3456::20",
      "172.17.0.1",
    ]);
  });

  it("reads this machine's interfaces by default, loopback included", () => {
    assert.ok(interfaceAddresses().includes("127.0.0.1"));
  });
});

describe("isValidHostname", () => {
  const valid = ["localhost", "a", "chat.lab", "x-1.example.com", "1host", `${"a".repeat(63)}.lab`];
  const invalid = ["", "-a", "a-", "a..b", ".a", "a_b", "a b", "über", `${"a".repeat(64)}.lab`, "A.lab"];
  for (const name of valid)
    it(`accepts ${JSON.stringify(name)}`, () => assert.equal(isValidHostname(name), true));
  for (const name of invalid)
    it(`refuses ${JSON.stringify(name)}`, () => assert.equal(isValidHostname(name), false));

  it("refuses a name longer than 253 characters", () => {
    assert.equal(isValidHostname(Array.from({ length: 64 }, () => "abc").join(".")), false);
  });
});
