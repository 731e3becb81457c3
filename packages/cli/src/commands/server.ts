/**
 * `parley server [flags]`: the server exactly as `npm start` runs it (packages/server's
 * runServer: same settings, flags, environment, banner and signals). runServer owns the process
 * and its exit status, so this returns only for --help.
 */
export async function serverCommand(argv: string[]): Promise<number> {
  const { runServer } = await import("@parley/server");
  await runServer(argv, { prog: "parley server" });
  return 0;
}
