import assert from "node:assert/strict";
import { test } from "node:test";
import type { CryptoData } from "../scenarios/crypto-data.js";
import type { RunRecord } from "../scenarios/types.js";
import { aggregateCrypto, cryptoHeadline, cryptoLine, cryptoSection, speedRatio } from "./crypto-section.js";

function data(scale: number, withBaseline = true): CryptoData {
  return {
    suite: "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
    provider: "@parley/crypto",
    keyPackages: { count: 50, ms: 250 * scale, perS: 200 / scale },
    messages: [
      {
        payloadBytes: 256,
        messageBytes: 402,
        encrypted: 100,
        encryptMs: 100,
        encryptPerS: 1000 / scale,
        decrypted: 100,
        decryptMs: 200,
        decryptPerS: 500 / scale,
      },
    ],
    adds: [
      {
        added: 1,
        membersBefore: 2,
        commitMs: 7 * scale,
        processMs: 11 * scale,
        auditMs: 2 * scale,
        commitBytes: 512,
        welcomeBytes: 900,
      },
      {
        added: 100,
        membersBefore: 2,
        commitMs: 600 * scale,
        processMs: 300 * scale,
        commitBytes: 30_000,
        welcomeBytes: 40_000,
      },
    ],
    groups: [
      {
        members: 100,
        joinMs: 220 * scale,
        welcomeBytes: 20_000,
        stateBytes: 39_000,
        newcomerStateBytes: 38_000,
      },
    ],
    comparison: withBaseline
      ? {
          ours: {
            suite: "s3",
            provider: "ours",
            encryptPerS: 1800,
            decryptPerS: 600,
            addMs: 30,
            joinMs: 20,
            added: 10,
          },
          baseline: {
            suite: "s1",
            provider: "base",
            encryptPerS: 900,
            decryptPerS: 1500,
            addMs: 10,
            joinMs: 10,
            added: 10,
          },
        }
      : null,
    baselineNote: withBaseline ? null : "ts-mls's default provider could not run it",
    durationS: 10,
  };
}

function run(rep: number, d: CryptoData | null, error: string | null = null): RunRecord {
  return {
    case: "crypto",
    scenario: "crypto",
    target: "parley",
    rep,
    startedAt: "",
    serverStartMs: 0,
    data: d ? { kind: "crypto", crypto: d } : null,
    error,
    skipped: false,
  };
}

const chart = (name: string) => `${name}.svg`;

test("aggregates repetitions into the median and spread of each figure, matched by size", () => {
  const a = aggregateCrypto([run(1, data(1)), run(2, data(2)), run(3, data(4))]);
  assert.ok(a);
  assert.equal(a.runs, 3);
  assert.deepEqual([a.messages[0]?.encryptPerS.median, a.messages[0]?.encryptPerS.min], [500, 250]);
  const add100 = a.adds.find((x) => x.added === 100);
  assert.deepEqual([add100?.commitMs.median, add100?.commitMs.min, add100?.commitMs.max], [1200, 600, 2400]);
  assert.equal(a.groups[0]?.joinMs.median, 440);
  assert.equal(a.keyPackagesPerS.median, 100);
  // The server's audit time where runs measured it; results from before it have none.
  assert.deepEqual([a.adds[0]?.auditMs.median, a.adds[0]?.auditMs.n, add100?.auditMs.n], [4, 3, 0]);
});

test("a run that failed counts as no data, and no data at all gives null", () => {
  assert.equal(aggregateCrypto([run(1, null, "boom")]), null);
  assert.equal(aggregateCrypto([run(1, null, "boom"), run(2, data(1))])?.runs, 1);
});

test("speed ratio: rates divide as they are, times the other way round, so below 1x is slower", () => {
  assert.equal(speedRatio(500, 1000, true), 0.5);
  assert.equal(speedRatio(30, 10, false), 1 / 3);
  assert.ok(Number.isNaN(speedRatio(1, 0, true)));
});

test("the section gives the tables, the chart and the provider comparison", () => {
  const charts: string[] = [];
  const md = cryptoSection("crypto case", aggregateCrypto([run(1, data(1))]), "", (n, svg) => {
    assert.match(svg, /^<svg /);
    charts.push(n);
    return chart(n);
  }).join("\n");
  assert.match(md, /## 5\. Crypto \(MLS\)/);
  assert.match(md, /\| 256 B \| 402 B \| 1\.00k \| 500 \|/);
  assert.match(md, /\| 1 \| 7\.00 \| 11\.0 \| 2\.00 \|/);
  assert.match(md, /\| 100 \| 600 \| 300 \| - \|/);
  assert.match(md, /\| 100 \| 220 \| 19\.5 KiB \| 38\.1 KiB \| 37\.1 KiB \|/);
  assert.match(md, /\| encrypt, msgs\/s \(256 B\) \| 1\.80k \| 900 \| 2\.00× \|/);
  assert.match(md, /\| add 10 members, ms \| 30\.0 \| 10\.0 \| 0\.33× \|/);
  assert.deepEqual(charts, ["mls-membership"]);
});

test("without a baseline the section says why and keeps the absolute figures", () => {
  const md = cryptoSection("c", aggregateCrypto([run(1, data(1, false))]), "", chart).join("\n");
  assert.match(md, /No baseline in this run: ts-mls's default provider could not run it\./);
  assert.match(md, /encrypt msgs\/s/);
});

test("failed runs are named above the figures; no figures at all says so", () => {
  const some = cryptoSection("c", aggregateCrypto([run(1, data(1))]), "1 run(s) failed: boom", chart).join(
    "\n",
  );
  assert.match(some, /> 1 run\(s\) failed: boom/);
  const none = cryptoSection("c", null, "1 run(s) failed: boom", chart).join("\n");
  assert.match(none, /No figures: 1 run\(s\) failed: boom\./);
});

test("the headline and the progress line name the biggest add and group", () => {
  const h = cryptoHeadline(aggregateCrypto([run(1, data(1))])).join("\n");
  assert.match(h, /adding 100 members in one Commit takes 600 ms/);
  assert.match(h, /joining a group of 100 from its Welcome 220 ms/);
  assert.deepEqual(cryptoHeadline(null), []);
  assert.match(cryptoLine(data(1)), /256 B enc 1\.00k\/s dec 500\/s, add 1 7\.00 ms, add 100 600 ms/);
});
