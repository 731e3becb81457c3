import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const MLS_STACK = /[\\/]node_modules[\\/](ts-mls|@hpke|@noble)[\\/]/;
const ENTRY = fileURLToPath(new URL("src/main.tsx", import.meta.url));

type ModuleGraph = { getModuleInfo(id: string): { importedIds: readonly string[] } | null };
let staticallyLoaded: Set<string> | undefined;

/** Whether `id` is among the modules the entry imports statically, directly or not. */
function loadedByEntry(id: string, graph: ModuleGraph): boolean {
  if (!staticallyLoaded) {
    const seen = new Set<string>();
    const queue = [ENTRY];
    // Bounded by the module graph: each module is visited once.
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(...(graph.getModuleInfo(next)?.importedIds ?? []));
    }
    staticallyLoaded = seen;
  }
  return staticallyLoaded.has(id);
}

/**
 * The production build is what the server serves at `/` (packages/web/dist). Everything is
 * bundled: no CDN, no remote fonts, no inline script or style (the server's CSP forbids them),
 * so the module-preload polyfill (an inline script) is off. The SDK and crypto packages are
 * bundled from their TypeScript sources through the `parley-source` export condition.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  resolve: {
    conditions: ["parley-source", "browser", "module", "import", "default"],
    // Node's `crypto` (a fallback in @hpke/common) is the page's WebCrypto: see src/node-crypto.ts.
    alias: { crypto: fileURLToPath(new URL("src/node-crypto.ts", import.meta.url)) },
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
    rolldownOptions: {
      output: {
        // The MLS stack (ts-mls, HPKE, @noble) in a chunk of its own: it changes less often than
        // the app, so a browser keeps it cached across upgrades, and neither chunk passes Vite's
        // 500 kB warning. Only what the first screen loads anyway goes there; what a lazy chunk
        // alone needs (X-Wing's post-quantum code) stays lazy.
        codeSplitting: {
          groups: [
            {
              debugName: "mls",
              name: (id, ctx) => (MLS_STACK.test(id) && loadedByEntry(id, ctx) ? "mls" : null),
            },
          ],
        },
      },
    },
  },
  server: { host: "127.0.0.1" },
});
