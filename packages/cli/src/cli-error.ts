/**
 * Exit statuses of the `parley` command, the same for every subcommand:
 *   0  done
 *   1  failed: the server refused, could not be reached, or answered something unexpected
 *   2  bad usage, or a subcommand that is not built yet
 *   3  trust refused: the server's CA fingerprint changed, its certificate does not verify, or
 *      the person declined to trust it
 *   130 interrupted at a prompt (Ctrl-C)
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, untrusted: 3, interrupted: 130 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the command reports as one line on stderr before it exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Lines printed after the reason (the fingerprints of a refused server, say). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** A usage error (exit 2), pointing at the command's help on the same line. */
export function usageError(message: string, command: string): CliError {
  return new CliError(`${message} (see "parley ${command} --help")`, EXIT.usage);
}
