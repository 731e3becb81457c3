#!/usr/bin/env node
// The `parley` command: picks the subcommand, runs it and turns its failure into one line and an exit status.
import { CliError, EXIT } from "./cli-error.js";

const USAGE = `usage: parley <command> [options]

commands:
  server     start a Parley server (the same flags and environment as npm start)
  discover   list the Parley servers advertised on the LAN (mDNS/DNS-SD)
  admin      invite codes, accounts and IP blocks on a server; promote or demote an admin
  chat       end-to-end encrypted terminal client
  reset-password  set a new password with a code from your admin or a recovery code

Run "parley <command> --help" for a command's options.
Exit status: 0 done, 1 failed, 2 bad usage, 3 server not trusted (its CA fingerprint changed).
`;

/** A subcommand: returns its exit status, or throws CliError. Loaded on use, so --help stays quick. */
type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  server: async () => (await import("./commands/server.js")).serverCommand,
  discover: async () => (await import("./commands/discover.js")).discoverCommand,
  admin: async () => (await import("./commands/admin.js")).adminCommand,
  chat: async () => (await import("./commands/chat.js")).chatCommand,
  "reset-password": async () => (await import("./commands/reset-password.js")).resetPasswordCommand,
};

/** The subcommand running, for the "parley <command>: reason" error line. */
let current = "";

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(USAGE);
    return EXIT.usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    throw new CliError(
      `unknown command "${name}" (expected one of: ${Object.keys(COMMANDS).join(", ")})`,
      EXIT.usage,
    );
  }
  current = name;
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`parley${current ? ` ${current}` : ""}: ${oneLine(message)}\n`);
    if (e instanceof CliError) for (const line of e.details) process.stderr.write(`  ${line}\n`);
    process.exitCode = e instanceof CliError ? e.exitCode : EXIT.failed;
  },
);

function oneLine(text: string): string {
  return text.split("\n")[0] ?? "";
}
