import assert from "node:assert/strict";
import { test } from "node:test";
import { firstError } from "./build.js";

test("firstError keeps the line that names the failure and drops stack frames", () => {
  const stderr = [
    "[plugin vite:build-html] /work/packages/web/index.html",
    "Error: Failed to resolve /src/main.tsx from /work/packages/web/index.html",
    "    at file:///work/node_modules/vite/dist/node/chunks/node.js:31890:64",
    "    at async Promise.all (index 0)",
  ].join("\n");
  assert.equal(
    firstError(stderr),
    "Error: Failed to resolve /src/main.tsx from /work/packages/web/index.html",
  );
});

test("firstError falls back to the last line, and says when there was no output", () => {
  assert.equal(firstError("building...\nKilled\n"), "Killed");
  assert.equal(firstError(""), "no output");
  assert.equal(firstError("Error: ".concat("x".repeat(1000))).length, 300);
});

test("firstError strips terminal colours and joins a bare 'error during build:' to its cause", () => {
  const stderr =
    '\u001b[31merror during build:\u001b[39m\nError: [vite]: Rollup failed to resolve import "x"\n    at y (z.js:1:1)';
  assert.equal(firstError(stderr), 'error during build: Error: [vite]: Rollup failed to resolve import "x"');
});
