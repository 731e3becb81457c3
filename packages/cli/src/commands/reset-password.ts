// `parley reset-password`: a new password with a recovery code (AUTH-11, AUTH-12), before signing in.
import { isParleyClientError, resetPassword } from "@parley/client";
import { parseCommand, wantsHelp } from "../args.js";
import { CliError, EXIT, usageError } from "../cli-error.js";
import { defaultConfigDir } from "../config-dir.js";
import { trustedFetch } from "../https-fetch.js";
import { confirm, readHidden } from "../prompt.js";
import { trustServer } from "../server-trust.js";
import { DEFAULT_URL } from "./admin.js";

const USAGE = `usage: parley reset-password --user NAME [options]

Sets a new password with the code your admin gave you ("parley admin reset-code"), or one of
your recovery codes. Every session of the account ends; sign in again afterwards. Your
identity key stays on your devices, so your contacts see no change.

  --url URL                the server (default ${DEFAULT_URL})
  --user NAME              your account (required)
  --ca FILE                trust this CA certificate (PEM) instead of pinning the server's
  --accept-new-fingerprint pin the server's CA again when its fingerprint changed
  --config-dir DIR         where pinned servers are kept
The code is read from PARLEY_RESET_CODE and the new password from PARLEY_NEW_PASSWORD, else
both are asked for on the terminal without echo.
`;

const OPTIONS = {
  url: { type: "string" },
  user: { type: "string" },
  ca: { type: "string" },
  "accept-new-fingerprint": { type: "boolean" },
  "config-dir": { type: "string" },
} as const;

/** `parley reset-password`: docs/PROTOCOL.md AUTH-11, AUTH-12. */
export async function resetPasswordCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const { values, positionals } = parseCommand(argv, OPTIONS, "reset-password");
  if (positionals.length > 0) throw usageError('"reset-password" takes no arguments', "reset-password");
  const user = values.user?.trim() ?? "";
  if (user === "") throw usageError("--user NAME is required", "reset-password");
  let url: URL;
  try {
    url = new URL(values.url ?? DEFAULT_URL);
  } catch {
    throw usageError(`--url "${values.url}" is not a URL`, "reset-password");
  }
  const trust = await trustServer({
    url,
    configDir: values["config-dir"] ?? defaultConfigDir(),
    caFile: values.ca,
    acceptNewFingerprint: values["accept-new-fingerprint"] === true,
    confirm: process.stdin.isTTY && process.stderr.isTTY ? confirm : undefined,
    notice: (line) => process.stderr.write(`${line}\n`),
  });
  const code = await secret("PARLEY_RESET_CODE", "Reset or recovery code: ");
  const newPassword = await newPasswordTwice();
  try {
    await resetPassword(url.origin, trustedFetch({ ca: trust.ca }), { username: user, code, newPassword });
  } catch (e) {
    if (isParleyClientError(e)) throw new CliError(e.message, EXIT.failed, e.failedRules ?? []);
    throw e;
  }
  process.stdout.write("password changed; every session ended: sign in with the new password\n");
  return EXIT.ok;
}

async function secret(variable: string, prompt: string): Promise<string> {
  const fromEnv = process.env[variable];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CliError(`set ${variable}, or run on a terminal to be asked`, EXIT.usage);
  }
  return readHidden(prompt);
}

async function newPasswordTwice(): Promise<string> {
  const fromEnv = process.env.PARLEY_NEW_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const first = await secret("PARLEY_NEW_PASSWORD", "New password: ");
  if ((await readHidden("New password again: ")) !== first)
    throw new CliError("the two passwords differ", EXIT.usage);
  return first;
}
