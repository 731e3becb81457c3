import { access } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { MlsSuite } from "@parley/protocol";
import type { CryptoData } from "../scenarios/crypto-data.js";
import type { MlsPlan } from "../scenarios/crypto-ops.js";
import { optionalImport } from "../system/optional-import.js";
import { CHROMIUM, CHROMIUM_ARGS, closeWithin } from "./navigate.js";

const PAGE_ENTRY = fileURLToPath(new URL("./crypto-page.ts", import.meta.url));
const LAUNCH_TIMEOUT_MS = 30_000;

type Playwright = typeof import("playwright-core");
type Esbuild = typeof import("esbuild");

/**
 * The crypto scenario's measurement in headless Chromium: crypto-page.ts and @parley/crypto
 * bundled with esbuild (as the browser client's build resolves them), served from 127.0.0.1 (a
 * secure context, so WebCrypto is there as on an HTTPS server), run in a page. Every request to
 * another host is aborted. `timeoutMs` bounds the whole run in the page.
 */
export async function measureCryptoInChromium(
  plan: MlsPlan,
  suite: MlsSuite,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<CryptoData> {
  const pw = await optionalImport<Playwright>("playwright-core");
  if (!pw) throw new Error("skipped: playwright-core not installed");
  const esbuild = await optionalImport<Esbuild>("esbuild");
  if (!esbuild) throw new Error("skipped: esbuild not installed");
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`skipped: no Chromium at ${CHROMIUM}`);
  }
  const built = await esbuild.build({
    entryPoints: [PAGE_ENTRY],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["parley-source"],
    write: false,
    logLevel: "silent",
  });
  const script = built.outputFiles[0]?.contents;
  if (!script) throw new Error("esbuild produced no bundle");
  const page =
    '<!doctype html><meta charset="utf-8"><title>crypto</title><script type="module" src="/bench.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === "/bench.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    else if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end(page);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await pw.chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
  });
  try {
    const context = await browser.newContext();
    await context.route("**/*", (route) =>
      route.request().url().startsWith(`${origin}/`) ? route.continue() : route.abort("blockedbyclient"),
    );
    const tab = await context.newPage();
    await tab.goto(`${origin}/`);
    await tab.waitForFunction("typeof globalThis.parleyCryptoBench === 'function'", undefined, {
      timeout: 30_000,
    });
    log(
      `    in Chromium ${browser.version()} (crypto.subtle: ${await tab.evaluate("typeof crypto.subtle")})`,
    );
    const run = tab.evaluate(([p, s]) => globalThis.parleyCryptoBench(p as MlsPlan, s as MlsSuite), [
      plan,
      suite,
    ] as const);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the page did not finish within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    try {
      const { data, lines } = await Promise.race([run, timedOut]);
      for (const line of lines) log(line);
      return data as CryptoData;
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await closeWithin(browser.close(), 10_000);
    server.close();
  }
}
