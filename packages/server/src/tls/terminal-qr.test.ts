import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { terminalQr } from "./terminal-qr.js";

describe("terminalQr", () => {
  it("draws a QR code as lines of half-block characters", async () => {
    const qr = await terminalQr("https://192.168.1.20:8443/");
    const lines = qr.split("\n").filter((line) => line.length > 0);
    assert.ok(lines.length >= 10, `${lines.length} lines`);
    assert.match(qr, /[▀▄█]/);
  });

  it("draws different codes for different text", async () => {
    assert.notEqual(await terminalQr("https://a.local:8443/"), await terminalQr("https://b.local:8443/"));
  });
});
