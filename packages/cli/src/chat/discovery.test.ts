import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DiscoveredServer } from "../mdns-browser.js";
import { choose, serverChoices } from "./discovery.js";

const FP = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
const server = (name: string, url: string, fp: string | null): DiscoveredServer => ({
  name,
  host: `${name}.local`,
  address: new URL(url).hostname,
  addresses: [],
  port: Number(new URL(url).port),
  tls: true,
  caFingerprint: fp,
  protocolVersion: 1,
  url,
});

const servers = [
  server("Parley on lab", "https://10.0.0.5:8443", FP),
  server("Parley on desk", "https://10.0.0.9:8443", null),
];

describe("choosing a discovered server", () => {
  it("lists each server with a number, its URL and the CA it announced", () => {
    assert.deepEqual(serverChoices(servers), [
      " 1. Parley on lab  https://10.0.0.5:8443",
      "    CA AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      "       AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      " 2. Parley on desk  https://10.0.0.9:8443",
      "    CA none announced",
    ]);
  });

  it("takes the number typed, and nothing else", () => {
    assert.equal(choose(servers, " 2 ")?.url, "https://10.0.0.9:8443");
    assert.equal(choose(servers, "1")?.url, "https://10.0.0.5:8443");
    for (const answer of ["0", "3", "", "one", "1.5", undefined])
      assert.equal(choose(servers, answer), undefined);
  });
});
