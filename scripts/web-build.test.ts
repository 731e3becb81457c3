import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { buildWeb, newestMtime, webBuildInputs, webBuildStale } from "./web-build.mjs";

/** A repository skeleton with every web-build input, all dated `inputsAt` (seconds). */
async function skeleton(inputsAt: number): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "parley-web-build-"));
  const files = [
    "packages/web/src/main.tsx",
    "packages/web/public/favicon.svg",
    "packages/web/index.html",
    "packages/web/vite.config.ts",
    "packages/web/package.json",
    "packages/protocol/src/index.ts",
    "packages/crypto/src/index.ts",
    "packages/client/src/chat/model.ts",
    "package-lock.json",
  ];
  for (const f of files) {
    await mkdir(dirname(join(root, f)), { recursive: true });
    await writeFile(join(root, f), "x");
    await utimes(join(root, f), inputsAt, inputsAt);
  }
  return root;
}

async function writeDist(root: string, at: number): Promise<void> {
  await mkdir(join(root, "packages/web/dist"), { recursive: true });
  await writeFile(join(root, "packages/web/dist/index.html"), "<!doctype html>");
  await utimes(join(root, "packages/web/dist/index.html"), at, at);
}

test("a build newer than all its inputs is current, and buildWeb leaves it alone", async () => {
  const root = await skeleton(1_000_000);
  try {
    await writeDist(root, 2_000_000);
    assert.equal(webBuildStale(root), null);
    const lines: string[] = [];
    // Nothing to build, so nothing is spawned: no npm, no Vite in this skeleton.
    assert.equal(buildWeb({ root, log: (l) => lines.push(l) }), 0);
    assert.deepEqual(lines, ["packages/web is up to date: not rebuilt"]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("no build, or any input newer than it, makes it stale", async () => {
  const root = await skeleton(1_000_000);
  try {
    assert.equal(webBuildStale(root), "no build");
    await writeDist(root, 2_000_000);
    // A file deep in an SDK package's sources, edited after the build.
    const edited = join(root, "packages/client/src/chat/model.ts");
    await utimes(edited, 3_000_000, 3_000_000);
    assert.equal(webBuildStale(root), join(root, "packages/client/src"));
    await utimes(edited, 1_000_000, 1_000_000);
    assert.equal(webBuildStale(root), null);
    // A dependency changed: the lock file is newer.
    await utimes(join(root, "package-lock.json"), 3_000_000, 3_000_000);
    assert.equal(webBuildStale(root), join(root, "package-lock.json"));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("newestMtime skips node_modules and dist, and is 0 for what does not exist", async () => {
  const root = await skeleton(1_000_000);
  try {
    await mkdir(join(root, "packages/web/src/node_modules"), { recursive: true });
    await writeFile(join(root, "packages/web/src/node_modules/x.js"), "x");
    await utimes(join(root, "packages/web/src/node_modules/x.js"), 5_000_000, 5_000_000);
    assert.equal(newestMtime(join(root, "packages/web/src")), 1_000_000_000);
    assert.equal(newestMtime(join(root, "nothing-here")), 0);
    assert.ok(webBuildInputs(root).every((p) => p.startsWith(root)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
