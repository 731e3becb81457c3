import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AssetSize, BudgetFigure, JsBudgets } from "../scenarios/web-data.js";

/**
 * The web client's JavaScript budgets (issue 20): what the first screen (the sign-in form) needs
 * before it can show, and the password checker the register form loads lazily. gzip -9 bytes,
 * of the files each one loads and nothing else already has.
 */
export const FIRST_SCREEN_BUDGET_BYTES = 150 * 1024;
export const PASSWORD_CHECKER_BUDGET_BYTES = 60 * 1024;

/** The checker's chunk: Vite names a lazily imported module's chunk after its file. */
const CHECKER_CHUNK = /^assets\/password-policy-compact-[^/]+\.js$/;

/** Relative modules a built chunk imports statically (`import{…}from"./x.js"`, `import"./x.js"`). */
export function staticImports(code: string): string[] {
  const out = new Set<string>();
  for (const m of code.matchAll(/\bimport\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g)) {
    out.add(m[1] as string);
  }
  return [...out];
}

/** The module scripts and modulepreloads of a built index.html, as paths inside dist. */
export function entryScripts(html: string): string[] {
  const out = new Set<string>();
  for (const tag of html.matchAll(/<(script|link)\b[^>]*>/g)) {
    const t = tag[0];
    const isModule = tag[1] === "script" ? /\btype="module"/.test(t) : /\brel="modulepreload"/.test(t);
    const url = /\b(?:src|href)="([^"]+)"/.exec(t)?.[1];
    if (isModule && url && !/^[a-z]+:/i.test(url)) out.add(url.replace(/^\//, ""));
  }
  return [...out];
}

/** `roots` and every chunk they import, directly or not, as paths inside dist. */
async function closure(dir: string, roots: readonly string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const queue = [...roots];
  // Bounded by the number of files in dist: each is read at most once.
  while (queue.length > 0) {
    const path = queue.shift() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    const code = await readFile(join(dir, path), "utf8").catch(() => "");
    const base = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
    for (const spec of staticImports(code)) queue.push(new URL(spec, `file:///${base}`).pathname.slice(1));
  }
  return seen;
}

function figure(files: Set<string>, sizes: readonly AssetSize[], budgetBytes: number): BudgetFigure {
  const list = sizes.filter((f) => files.has(f.path));
  return {
    files: list.map((f) => f.path).sort(),
    gzipBytes: list.reduce((n, f) => n + f.gzipBytes, 0),
    budgetBytes,
  };
}

/** The first screen's and the password checker's JavaScript in a build, against their budgets. */
export async function measureJsBudgets(dir: string, sizes: readonly AssetSize[]): Promise<JsBudgets> {
  const html = await readFile(join(dir, "index.html"), "utf8").catch(() => "");
  const first = await closure(dir, entryScripts(html));
  const checkerChunk = sizes.find((f) => CHECKER_CHUNK.test(f.path));
  let checker: BudgetFigure | null = null;
  if (checkerChunk) {
    const all = await closure(dir, [checkerChunk.path]);
    checker = figure(new Set([...all].filter((p) => !first.has(p))), sizes, PASSWORD_CHECKER_BUDGET_BYTES);
  }
  return { firstScreen: figure(first, sizes, FIRST_SCREEN_BUDGET_BYTES), passwordChecker: checker };
}

/** "first screen JS 165.1 KiB gzip, budget 150 KiB: OVER; password checker 55.4 KiB gzip, budget 60 KiB: within" */
export function budgetsLine(b: JsBudgets): string {
  const one = (name: string, f: BudgetFigure | null) =>
    f === null
      ? `${name}: no chunk found`
      : `${name} ${(f.gzipBytes / 1024).toFixed(1)} KiB gzip, budget ${(f.budgetBytes / 1024).toFixed(0)} KiB: ` +
        (f.gzipBytes <= f.budgetBytes ? "within" : "OVER");
  return `${one("first screen JS", b.firstScreen)}; ${one("password checker", b.passwordChecker)}`;
}
