import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { measureDist } from "./asset-sizes.js";
import { budgetsLine, entryScripts, measureJsBudgets, staticImports } from "./js-budgets.js";

test("staticImports finds a minified chunk's relative imports, not its dynamic ones", () => {
  const code =
    'import{a as e,b as t}from"./index-A.js";import"./side-B.js";import*as n from"../c.js";' +
    'const x=()=>import("./lazy-C.js");import{d}from"preact";';
  assert.deepEqual(staticImports(code), ["./index-A.js", "./side-B.js", "../c.js"]);
});

test("entryScripts lists index.html's module scripts and modulepreloads only", () => {
  const html =
    '<script type="module" crossorigin src="/assets/index-A.js"></script>' +
    '<link rel="modulepreload" crossorigin href="/assets/runtime-B.js">' +
    '<link rel="stylesheet" href="/assets/index.css"><link rel="icon" href="/favicon.svg">';
  assert.deepEqual(entryScripts(html), ["assets/index-A.js", "assets/runtime-B.js"]);
});

test("the first screen and the checker are measured apart, shared chunks counted once", async () => {
  const dir = await mkdtemp(join(tmpdir(), "parley-bench-budgets-"));
  try {
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), '<script type="module" src="/assets/index-A.js"></script>');
    await writeFile(
      join(dir, "assets", "index-A.js"),
      'import"./vendor-V.js";const l=()=>import("./lazy.js");',
    );
    await writeFile(join(dir, "assets", "vendor-V.js"), "export const v=1;\n".repeat(100));
    await writeFile(
      join(dir, "assets", "password-policy-compact-P.js"),
      'import{v}from"./vendor-V.js";import"./table-T.js";',
    );
    await writeFile(join(dir, "assets", "table-T.js"), "export const t='x';\n".repeat(100));
    const { files } = await measureDist(dir);
    const gz = (p: string) => files.find((f) => f.path === p)?.gzipBytes ?? Number.NaN;
    const b = await measureJsBudgets(dir, files);
    assert.deepEqual(b.firstScreen.files, ["assets/index-A.js", "assets/vendor-V.js"]);
    assert.equal(b.firstScreen.gzipBytes, gz("assets/index-A.js") + gz("assets/vendor-V.js"));
    assert.deepEqual(b.passwordChecker?.files, ["assets/password-policy-compact-P.js", "assets/table-T.js"]);
    assert.equal(
      b.passwordChecker?.gzipBytes,
      gz("assets/password-policy-compact-P.js") + gz("assets/table-T.js"),
    );
    assert.match(
      budgetsLine(b),
      /^first screen JS [\d.]+ KiB gzip, budget 150 KiB: within; password checker/,
    );
    const over = { ...b, firstScreen: { ...b.firstScreen, budgetBytes: 1 } };
    assert.match(budgetsLine(over), /budget 0 KiB: OVER/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a build without the checker says so", async () => {
  const dir = await mkdtemp(join(tmpdir(), "parley-bench-budgets-"));
  try {
    await writeFile(join(dir, "index.html"), "<title>x</title>");
    const b = await measureJsBudgets(dir, (await measureDist(dir)).files);
    assert.equal(b.passwordChecker, null);
    assert.match(budgetsLine(b), /password checker: no chunk found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
