import { wantsHelp } from "../args.js";
import { CliError, EXIT } from "../cli-error.js";

const USAGE = `usage: parley chat [url]

The end-to-end encrypted terminal client. Not built yet: it needs the client SDK
(packages/client), which is still being finished.
`;

/** `parley chat`: a placeholder that says so, until the terminal client exists. */
export async function chatCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  throw new CliError(
    "not built yet (the terminal client waits for the client SDK, packages/client)",
    EXIT.usage,
  );
}
