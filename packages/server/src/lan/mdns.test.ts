import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PROTOCOL_VERSION } from "@parley/protocol";
import { ConfigError, loadConfig } from "../config/config.js";
import { parleyTxtRecord } from "./mdns.js";

// The advertiser's sockets are tested in test/integration/mdns.test.ts, inside network
// namespaces; here only what needs no network.

const FP = "2C:5F:38:48:17:84:16:61:86:3D:E6:F7:36:D0:6E:7F:D4:A5:62:2D:C4:80:E3:36:31:34:59:4B:B9:94:D6:AA";

describe("parleyTxtRecord", () => {
  it("carries the protocol version, the CA fingerprint and whether TLS is on", () => {
    assert.deepEqual(parleyTxtRecord({ caFingerprint: FP, tls: true }), {
      v: String(PROTOCOL_VERSION),
      fp: FP,
      tls: "1",
    });
  });

  it("announces an empty fingerprint and tls=0 when there is no CA", () => {
    assert.deepEqual(parleyTxtRecord({ caFingerprint: null, tls: false }), {
      v: String(PROTOCOL_VERSION),
      fp: "",
      tls: "0",
    });
  });

  it("fits each string in the 255 bytes a TXT string may hold (RFC 6763 §6.1)", () => {
    for (const [k, v] of Object.entries(parleyTxtRecord({ caFingerprint: FP, tls: true }))) {
      assert.ok(Buffer.byteLength(`${k}=${v}`) <= 255, k);
    }
  });
});

describe("PARLEY_MDNS and PARLEY_MDNS_INTERFACE", () => {
  it("advertise on every interface by default", () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.mdns, "on");
    assert.equal(c.mdnsInterface, null);
  });

  it("default to off under NODE_ENV=test, where multicast must stay inside test namespaces", () => {
    assert.equal(loadConfig({ env: { NODE_ENV: "test" } }).mdns, "off");
    assert.equal(loadConfig({ env: { NODE_ENV: "test", PARLEY_MDNS: "on" } }).mdns, "on");
    assert.equal(loadConfig({ env: { NODE_ENV: "test" }, argv: ["--mdns", "on"] }).mdns, "on");
  });

  it("take an IPv4 interface address and refuse anything else", () => {
    assert.equal(
      loadConfig({ env: { PARLEY_MDNS_INTERFACE: "192.168.1.20" } }).mdnsInterface,
      "192.168.1.20",
    );
    for (const bad of ["eth0", "::1", "192.168.1"]) {
      assert.throws(() => loadConfig({ env: { PARLEY_MDNS_INTERFACE: bad } }), ConfigError, bad);
    }
    assert.throws(() => loadConfig({ env: { PARLEY_MDNS: "yes" } }), ConfigError);
  });
});
