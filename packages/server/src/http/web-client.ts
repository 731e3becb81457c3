import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** The browser client's production build in this checkout (`npm run build` makes it). */
export const BUNDLED_WEB_DIR = fileURLToPath(new URL("../../../web/dist", import.meta.url));
/** Shown at `/` when the browser client has not been built. */
const PLACEHOLDER = fileURLToPath(new URL("../../public/index.html", import.meta.url));

/**
 * Serves the browser client at `/`: index.html never cached (it names the current bundle),
 * the content-hashed files under /assets/ cached for a year as immutable. Only files present
 * at start-up get a route (no wildcard), so unknown paths fall through to the API's JSON 404.
 * The security headers (CSP without inline script or style) apply to these responses too.
 */
export async function registerWebClient(
  app: FastifyInstance,
  webDir: string | null,
): Promise<"web" | "placeholder"> {
  const root = webDir ?? BUNDLED_WEB_DIR;
  if (!existsSync(join(root, "index.html"))) {
    const placeholder = await readFile(PLACEHOLDER, "utf8");
    app.get("/", async (_req, reply) =>
      reply.type("text/html; charset=utf-8").header("Cache-Control", "no-store").send(placeholder),
    );
    return "placeholder";
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    wildcard: false,
    index: ["index.html"],
    dotfiles: "deny",
    etag: true,
    lastModified: false,
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader(
        "Cache-Control",
        path.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
  return "web";
}
