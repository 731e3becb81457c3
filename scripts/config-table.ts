// Prints the README's configuration table from the server's settings table, so the two agree.
// Usage: node --conditions=parley-source --import tsx scripts/config-table.ts
import { CONFIG_SETTINGS } from "../packages/server/src/config/config.js";

const rows = CONFIG_SETTINGS.map(
  (s) =>
    `| \`${s.env}\` | \`--${s.flag}\` | ${s.default === "" ? "(empty)" : `\`${s.default}\``} | ${s.help} |`,
);
process.stdout.write(
  ["| variable | flag | default | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n"),
);
process.stdout.write("\n");
