import { access } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { consoleAuditEntry } from "../audit/audit-log.js";
import { loadConfig } from "../config/config.js";
import { openStorage } from "../storage/open-storage.js";

/**
 * Makes or unmakes an admin, on the server's own database:
 *
 *   promote <username> [--data-dir DIR] [--database-url URL]
 *   demote <username>  [--data-dir DIR] [--database-url URL]
 *
 * It is local on purpose. Whoever can write the server's disk is its operator anyway, so
 * nothing is lost by trusting them, while any network path to the first admin (a bootstrap
 * secret, "the first account wins") is a race or a secret that someone on the LAN can win or
 * steal. The defaults are the server's: PARLEY_DATA_DIR (./data) and DATABASE_URL. The change
 * counts from the user's next request (admin status is read from the database every time).
 * Used by promote-cli.ts (`npm run admin`) and `parley admin promote|demote`.
 */

export const PROMOTE_USAGE = "usage: promote|demote <username> [--data-dir DIR] [--database-url URL]";

/** A refusal or bad usage, with the exit status the command should end with. */
export class PromoteError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = "PromoteError";
  }
}

/**
 * Runs `promote|demote <username> [--data-dir DIR] [--database-url URL]` and returns the one
 * line to print. Throws PromoteError (with its exit status) or ConfigError.
 */
export async function runPromote(argv: string[]): Promise<string> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    throw new PromoteError(e instanceof Error ? e.message : String(e), 2);
  }
  const { values, positionals } = parsed;
  if (values.help) return PROMOTE_USAGE;
  const [action, username, ...rest] = positionals;
  if (action !== "promote" && action !== "demote") throw new PromoteError(PROMOTE_USAGE, 2);
  if (username === undefined || username.trim() === "" || rest.length > 0)
    throw new PromoteError(PROMOTE_USAGE, 2);

  // The server's own reading of PARLEY_DATA_DIR and DATABASE_URL, flags first.
  const config = loadConfig({
    argv: [
      ...(values["data-dir"] !== undefined ? ["--data-dir", values["data-dir"]] : []),
      ...(values["database-url"] !== undefined ? ["--database-url", values["database-url"]] : []),
    ],
  });
  const sqliteFile = join(config.dataDir, "parley.db");
  if (!config.databaseUrl) {
    // Opening would create an empty database: a mistyped data dir must fail, not "succeed".
    await access(sqliteFile).catch(() => {
      throw new PromoteError(`no Parley database at ${sqliteFile} (check --data-dir or PARLEY_DATA_DIR)`, 1);
    });
  }
  const storage = await openStorage({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    sqliteFile,
  });
  try {
    const user = await storage.findUserByUsername(username);
    if (!user) throw new PromoteError(`unknown user "${username}"`, 1);
    const makeAdmin = action === "promote";
    if (user.isAdmin === makeAdmin) {
      return `${user.username} ${makeAdmin ? "is already an admin" : "was not an admin"}`;
    }
    await storage.setUserAdmin(user.id, makeAdmin);
    // AUDIT-1: written straight to the log the servers share; the actor is the console.
    await storage.audit.append(
      consoleAuditEntry({
        kind: "role_changed",
        userId: user.id,
        username: user.username,
        details: { isAdmin: makeAdmin, by: "console" },
      }),
    );
    return `${user.username} ${makeAdmin ? "is now an admin" : "is no longer an admin"}`;
  } finally {
    await storage.close();
  }
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      "data-dir": { type: "string" },
      "database-url": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: true,
  });
}
