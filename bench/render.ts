import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeReport } from "./report/write-report.js";
import type { BenchResults } from "./results-file.js";

/**
 * Re-draws the Markdown report and charts of an earlier run from its JSON, e.g. after the
 * report code changed: node --conditions=parley-source --import tsx bench/render.ts <results.json>
 */
const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: bench/render.ts bench/results/<stamp>.json\n");
  process.exit(2);
}
const results = JSON.parse(await readFile(file, "utf8")) as BenchResults;
process.stdout.write(`${await writeReport(dirname(file), results)}\n`);
