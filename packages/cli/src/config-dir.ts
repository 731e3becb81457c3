// Where the user's Parley directory is (XDG config dir, or --config-dir).
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The user's Parley directory: `$XDG_CONFIG_HOME/parley`, else `~/.config/parley` (XDG Base
 * Directory Specification). Pinned servers live here, and so will the terminal client's
 * encrypted device state. `--config-dir` overrides it.
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base = xdg?.startsWith("/") ? xdg : join(homedir(), ".config");
  return join(base, "parley");
}
