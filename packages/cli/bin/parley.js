#!/usr/bin/env node
// The `parley` command as npm links it (package.json "bin", so `npx parley` in the repository
// finds it and never asks the registry). In a checkout with tsx installed it runs the TypeScript
// sources, so there is nothing to build and nothing stale; elsewhere it runs the build in dist/.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const built = new URL("../dist/main.js", import.meta.url);

function tsxLoader() {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return undefined;
  }
}

const loader = existsSync(source) ? tsxLoader() : undefined;
if (loader !== undefined) {
  const child = spawn(
    process.execPath,
    ["--conditions=parley-source", "--import", loader, source, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  // Ctrl-C reaches the child from the terminal; a signal sent to this process only is passed on.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => {
    process.exitCode = code ?? 128 + (signal === "SIGINT" ? 2 : signal === "SIGHUP" ? 1 : 15);
  });
} else if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  process.stderr.write("parley: not built yet: run `npm run build` in the repository\n");
  process.exitCode = 1;
}
