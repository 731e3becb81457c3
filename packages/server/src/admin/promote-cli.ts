#!/usr/bin/env node
import { ConfigError } from "../config/config.js";
import { PromoteError, runPromote } from "./promote.js";

/**
 * `npm run admin -- promote|demote <username> [--data-dir DIR] [--database-url URL]` (promote.ts).
 *
 * Exit status: 0 done (one line on stdout), 1 refused or failed, 2 bad usage (one line on stderr).
 */
runPromote(process.argv.slice(2)).then(
  (line) => {
    process.stdout.write(`${line}\n`);
  },
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`parley admin: ${message.split("\n")[0]}\n`);
    process.exitCode = e instanceof PromoteError ? e.exitCode : e instanceof ConfigError ? 2 : 1;
  },
);
