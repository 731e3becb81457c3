import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { AssetKind, AssetSize, AssetTotals, BundleSizes } from "../scenarios/web-data.js";

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** Files in dist beyond this count are not measured (a runaway build must not stall the run). */
const MAX_FILES = 2000;

export function kindOf(path: string): AssetKind {
  const lower = path.toLowerCase();
  if (lower.endsWith(".js") || lower.endsWith(".mjs")) return "js";
  if (lower.endsWith(".css")) return "css";
  if (lower.endsWith(".html")) return "html";
  return "other";
}

/** Sums per kind; every kind is present, with zeros when there is no such file. */
export function totalsByKind(files: readonly AssetSize[]): Record<AssetKind, AssetTotals> {
  const empty = (): AssetTotals => ({ files: 0, rawBytes: 0, gzipBytes: 0, brotliBytes: 0 });
  const out: Record<AssetKind, AssetTotals> = { js: empty(), css: empty(), html: empty(), other: empty() };
  for (const f of files) {
    const t = out[f.kind];
    t.files += 1;
    t.rawBytes += f.rawBytes;
    t.gzipBytes += f.gzipBytes;
    t.brotliBytes += f.brotliBytes;
  }
  return out;
}

/**
 * Raw, gzip (level 9) and brotli (quality 11) size of every file under `dir`: what a browser
 * downloads, compressed as a server or a reverse proxy at its best would send it.
 */
export async function measureDist(dir: string): Promise<BundleSizes & { newestMs: number }> {
  const paths = await listFiles(dir);
  const files: AssetSize[] = [];
  let newestMs = 0;
  for (const full of paths) {
    const [bytes, info] = await Promise.all([readFile(full), stat(full)]);
    newestMs = Math.max(newestMs, info.mtimeMs);
    const [gz, br] = await Promise.all([
      gzipAsync(bytes, { level: 9 }),
      brotliAsync(bytes, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
          [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      }),
    ]);
    const path = relative(dir, full).split(sep).join("/");
    files.push({
      path,
      kind: kindOf(path),
      rawBytes: bytes.length,
      gzipBytes: gz.length,
      brotliBytes: br.length,
    });
  }
  files.sort((a, b) => b.rawBytes - a.rawBytes || a.path.localeCompare(b.path));
  return { files, byKind: totalsByKind(files), newestMs };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (out.length >= MAX_FILES) return;
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(full);
    }
  };
  await walk(dir);
  return out;
}
