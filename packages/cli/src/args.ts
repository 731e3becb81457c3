// Parses a subcommand's arguments strictly and turns mistakes into usage errors.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { usageError } from "./cli-error.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;

/**
 * node:util parseArgs in strict mode, with its TypeError (unknown option, missing value) turned
 * into a usage error that names the command.
 */
export function parseCommand<O extends Options>(argv: string[], options: O, command: string): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw usageError(e instanceof Error ? e.message : String(e), command);
  }
}

/** True when argv asks for help anywhere, the way every subcommand answers it. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}
