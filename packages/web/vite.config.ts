import { defineConfig } from "vite";

/**
 * The production build is what the server serves at `/` (packages/web/dist). Everything is
 * bundled: no CDN, no remote fonts, no inline script or style (the server's CSP forbids them),
 * so the module-preload polyfill (an inline script) is off. The SDK and crypto packages are
 * bundled from their TypeScript sources through the `parley-source` export condition.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  resolve: { conditions: ["parley-source", "browser", "module", "import", "default"] },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { host: "127.0.0.1" },
});
