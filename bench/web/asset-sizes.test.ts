import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { AssetSize } from "../scenarios/web-data.js";
import { kindOf, measureDist, totalsByKind } from "./asset-sizes.js";

test("kindOf sorts a build's files by extension, whatever the case", () => {
  assert.equal(kindOf("assets/index-abc.js"), "js");
  assert.equal(kindOf("assets/worker.MJS"), "js");
  assert.equal(kindOf("assets/index.css"), "css");
  assert.equal(kindOf("index.html"), "html");
  assert.equal(kindOf("favicon.svg"), "other");
  assert.equal(kindOf("assets/app.js.map"), "other");
});

test("totalsByKind sums per kind and lists every kind, empty ones at zero", () => {
  const f = (path: string, raw: number, gz: number, br: number): AssetSize => ({
    path,
    kind: kindOf(path),
    rawBytes: raw,
    gzipBytes: gz,
    brotliBytes: br,
  });
  const t = totalsByKind([f("a.js", 100, 40, 30), f("b.js", 50, 20, 15), f("c.css", 10, 5, 4)]);
  assert.deepEqual(t.js, { files: 2, rawBytes: 150, gzipBytes: 60, brotliBytes: 45 });
  assert.deepEqual(t.css, { files: 1, rawBytes: 10, gzipBytes: 5, brotliBytes: 4 });
  assert.deepEqual(t.html, { files: 0, rawBytes: 0, gzipBytes: 0, brotliBytes: 0 });
  assert.deepEqual(t.other, { files: 0, rawBytes: 0, gzipBytes: 0, brotliBytes: 0 });
});

test("measureDist walks sub-folders, compresses every file and lists the largest first", async () => {
  const dir = await mkdtemp(join(tmpdir(), "parley-bench-dist-"));
  try {
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>x</title>");
    await writeFile(join(dir, "assets", "index.js"), "export const a = 1;\n".repeat(500));
    await writeFile(join(dir, "assets", "index.css"), "body{margin:0}\n".repeat(50));
    const m = await measureDist(dir);
    assert.deepEqual(
      m.files.map((x) => x.path),
      ["assets/index.js", "assets/index.css", "index.html"],
    );
    const js = m.files[0];
    assert.ok(js);
    assert.equal(js.rawBytes, 10_000);
    assert.ok(js.gzipBytes > 0 && js.gzipBytes < js.rawBytes / 10, "repetitive text compresses");
    assert.ok(js.brotliBytes > 0 && js.brotliBytes < js.rawBytes / 10);
    assert.equal(m.byKind.js.files, 1);
    assert.equal(m.byKind.css.rawBytes, 750);
    assert.ok(m.newestMs > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
