import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readTxt } from "./mdns-browser.js";

const strings = (...s: string[]) => s.map((x) => Buffer.from(x));

describe("readTxt (RFC 6763 §6.3-6.4)", () => {
  it("reads key=value strings, keeping '=' inside values", () => {
    const txt = readTxt(strings("v=1", "fp=AB:CD", "x=a=b"));
    assert.equal(txt.get("v"), "1");
    assert.equal(txt.get("fp"), "AB:CD");
    assert.equal(txt.get("x"), "a=b");
  });

  it("gives an empty value to 'key=' and to a bare key", () => {
    const txt = readTxt(strings("fp=", "tls"));
    assert.equal(txt.get("fp"), "");
    assert.equal(txt.get("tls"), "");
  });

  it("compares keys without case and keeps only the first occurrence", () => {
    const txt = readTxt(strings("TLS=1", "tls=0"));
    assert.equal(txt.get("tls"), "1");
  });

  it("skips strings with an empty key and anything that is not bytes", () => {
    const txt = readTxt([Buffer.from("=x"), "v=1", 42, null]);
    assert.equal(txt.size, 0);
    assert.equal(readTxt(undefined).size, 0);
  });
});
