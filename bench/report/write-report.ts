import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BenchResults } from "../results-file.js";
import { buildReport } from "./markdown.js";

/** Writes <stamp>.md and its SVG charts next to <stamp>.json; returns the Markdown's path. */
export async function writeReport(dir: string, results: BenchResults): Promise<string> {
  const report = buildReport(results);
  await mkdir(dir, { recursive: true });
  await Promise.all(report.charts.map((c) => writeFile(join(dir, c.file), c.svg)));
  const file = join(dir, `${results.stamp}.md`);
  await writeFile(file, report.markdown);
  return file;
}
