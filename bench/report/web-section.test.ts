import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunRecord } from "../scenarios/types.js";
import type { AssetSize, NavigationFigures, WebData } from "../scenarios/web-data.js";
import { totalsByKind } from "../web/asset-sizes.js";
import { aggregateWeb, coldLoadLines, sumTotals, webHeadline, webLine, webSection } from "./web-section.js";

const files: AssetSize[] = [
  {
    path: "assets/index.js",
    kind: "js",
    rawBytes: 300 * 1024,
    gzipBytes: 100 * 1024,
    brotliBytes: 90 * 1024,
  },
  {
    path: "assets/index.css",
    kind: "css",
    rawBytes: 10 * 1024,
    gzipBytes: 3 * 1024,
    brotliBytes: 2.5 * 1024,
  },
  { path: "index.html", kind: "html", rawBytes: 1024, gzipBytes: 512, brotliBytes: 400 },
];

function nav(signInMs: number[], extra: Partial<NavigationFigures> = {}): NavigationFigures {
  return {
    browser: "Chromium 1",
    launchMs: 300,
    attempts: signInMs.length,
    signInMs,
    domContentLoadedMs: signInMs.map((v) => v / 2),
    requests: signInMs.length * 4,
    blockedRequests: 0,
    blockedHosts: [],
    note: null,
    ...extra,
  };
}

function built(navigation: NavigationFigures | null, skipped: string | null = null): WebData {
  return {
    build: "built",
    buildNote: null,
    buildMs: null,
    distTime: "2026-01-01T00:00:00.000Z",
    sizes: { files, byKind: totalsByKind(files) },
    navigation,
    navigationSkipped: skipped,
  };
}

const notBuilt: WebData = {
  build: "not built",
  buildNote: "the build failed: Error: Failed to resolve /src/main.tsx",
  buildMs: 400,
  distTime: null,
  sizes: null,
  navigation: null,
  navigationSkipped: "not built",
};

function run(rep: number, web: WebData): RunRecord {
  return {
    case: "web",
    scenario: "web",
    target: "parley",
    rep,
    startedAt: "",
    serverStartMs: 0,
    data: { kind: "web", web },
    error: null,
    skipped: false,
  };
}

test("takes each run's median and p95, then the median and spread over runs", () => {
  const a = aggregateWeb([
    run(1, built(nav([100, 200, 300, 400, 1000]))),
    run(2, built(nav([150, 250, 350, 450, 900]))),
    run(3, built(nav([50, 150, 250, 350, 800]))),
  ]);
  assert.ok(a);
  assert.deepEqual([a.signInP50.median, a.signInP50.min, a.signInP50.max], [300, 250, 350]);
  assert.deepEqual([a.signInP95.median, a.signInP95.min, a.signInP95.max], [900, 800, 1000]);
  assert.equal(a.loads, 15);
  assert.equal(a.requests, 60);
});

test("the section gives sizes per kind with a total and the timing table", () => {
  const md = webSection("web case", aggregateWeb([run(1, built(nav([100, 200, 300])))]), "").join("\n");
  assert.match(md, /\| JavaScript \| 1 \| 300\.0 KiB \| 100\.0 KiB \| 90\.0 KiB \|/);
  assert.match(md, /\| \*\*all\*\* \| 3 \| \*\*311\.0 KiB\*\* \| \*\*103\.5 KiB\*\*/);
  assert.match(md, /\| Chromium 1 \| 3 \| 200 \| 300 \| 100 \| 12 \| 0 ✓ \|/);
});

test("requests that had to be blocked are flagged with their hosts", () => {
  const a = aggregateWeb([
    run(1, built(nav([100], { blockedRequests: 2, blockedHosts: ["fonts.example"] }))),
  ]);
  const md = webSection("w", a, "").join("\n");
  assert.match(md, /\*\*2\*\* \(fonts\.example\)/);
});

test("a page without a sign-in form is reported with the time-out, not as figures", () => {
  const a = aggregateWeb([
    run(1, built(nav([], { attempts: 1, note: "sign-in form not found within 15 s" }))),
  ]);
  const md = webSection("w", a, "").join("\n");
  assert.match(md, /No load reached a sign-in form: sign-in form not found within 15 s\./);
  assert.doesNotMatch(md, /sign-in form, median ms/);
  assert.match(webHeadline(a).join(""), /no sign-in form measured \(sign-in form not found within 15 s\)/);
});

test("no build is reported as not built, with the reason, and nothing else", () => {
  const a = aggregateWeb([run(1, notBuilt)]);
  const md = webSection("w", a, "").join("\n");
  assert.match(md, /\*\*Not built\*\*: the build failed: Error: Failed to resolve \/src\/main\.tsx\./);
  assert.doesNotMatch(md, /Download size/);
  assert.match(webLine(notBuilt), /^not built: the build failed/);
  assert.match(webHeadline(a).join(""), /Web client\*\*: not built/);
});

test("navigation skipped (no browser) still reports the sizes and says why", () => {
  const d = built(null, "no Chromium at /usr/bin/chromium");
  const md = webSection("w", aggregateWeb([run(1, d)]), "").join("\n");
  assert.match(md, /Download size/);
  assert.match(md, /No load reached a sign-in form: no Chromium at \/usr\/bin\/chromium\./);
  assert.match(webLine(d), /navigation not measured: no Chromium/);
});

test("sumTotals adds every field", () => {
  const t = totalsByKind(files);
  assert.deepEqual(sumTotals([t.js, t.css]), {
    files: 2,
    rawBytes: 310 * 1024,
    gzipBytes: 103 * 1024,
    brotliBytes: 92.5 * 1024,
  });
});

test("cold loads of this build and a baseline: pooled over runs, median and p95, load average, time-outs", () => {
  const cold = (list: number[], base: number[], failed?: number) => ({
    rooms: 3,
    rounds: list.length,
    viewport: "1440x900",
    loadAverageBefore: [1, 2, 3],
    loadAverageAfter: [1.5, 2, 3],
    variants: [
      { label: "this build", signInMs: list.map((x) => x / 2), conversationListMs: list },
      {
        label: "baseline",
        signInMs: base.map((x) => x / 2),
        conversationListMs: base,
        ...(failed ? { failed } : {}),
      },
    ],
    note: null,
  });
  const a = aggregateWeb([
    run(1, { ...built(nav([100])), coldLoads: cold([1000, 2000], [3000, 4000], 1), coldLoadsSkipped: null }),
    run(2, { ...built(nav([100])), coldLoads: cold([3000], [5000]), coldLoadsSkipped: null }),
  ]);
  const md = webSection("w", a, "").join("\n");
  assert.match(md, /### Cold loads: sign-in form and conversation list/);
  assert.match(md, /\| this build \| 3 \| 0 \| 1000 \| 1500 \| 2000 \| 3000 \|/);
  assert.match(md, /\| baseline \| 3 \| 1 \| 2000 \| 2500 \| 4000 \| 5000 \|/);
  assert.match(md, /Load average \(1, 5, 15 min\): 1\.00 2\.00 3\.00 → 1\.50 2\.00 3\.00/);
  const lines = coldLoadLines(cold([1000, 2000], [3000, 4000], 1));
  assert.match(lines[0] ?? "", /^this build: sign-in form .*; conversation list \(3 rooms\) 1500 ms median/);
  assert.match(lines[1] ?? "", /; 1 timed out$/);
  assert.match(lines[2] ?? "", /^load average 1\.00 2\.00 3\.00 before, 1\.50 2\.00 3\.00 after$/);
});

test("cold loads not measured say why", () => {
  const md = webSection(
    "w",
    aggregateWeb([run(1, { ...built(nav([100])), coldLoadsSkipped: "no baseline" })]),
    "",
  ).join("\n");
  assert.match(md, /Not measured: no baseline\./);
});
