// `parley chat`: picks and trusts the server, opens the terminal and device state, and runs the chat controller.
import { rm } from "node:fs/promises";
import { isIP } from "node:net";
import { parseCommand, wantsHelp } from "../args.js";
import { ChatController } from "../chat/controller.js";
import { openDeviceState, stateFile } from "../chat/device-state.js";
import { pickServer } from "../chat/discovery.js";
import { lastUserFile } from "../chat/last-user.js";
import { policyPinFile } from "../chat/policy-pin.js";
import { Screen } from "../chat/screen.js";
import { pinnedWebSocket } from "../chat/websocket.js";
import { CliError, EXIT, usageError } from "../cli-error.js";
import { defaultConfigDir } from "../config-dir.js";
import { trustedFetch } from "../https-fetch.js";
import { originOf } from "../known-servers.js";
import { trustServer } from "../server-trust.js";

const USAGE = `usage: parley chat [url] [options]

The end-to-end encrypted terminal client. With a URL (https://host:port) it connects to that
server; without one it lists the servers announced on the LAN (mDNS) and asks which.
Type /help inside for the commands; plain text goes to the current room.

  --config-dir DIR          where pinned servers and device state are kept
                            (default: $XDG_CONFIG_HOME/parley, else ~/.config/parley)
  --passphrase              seal a new device state with a passphrase (PARLEY_PASSPHRASE,
                            else asked) instead of the key file <config dir>/chat/device.key
  --ca FILE                 trust this CA certificate (PEM) instead of pinning the server's
  --accept-new-fingerprint  pin the server's CA again when its fingerprint changed
  --timeout SECONDS         how long to look for servers without a URL (default 3)
  --interface IP            IPv4 address of the one interface to look on

The first use of a server pins the fingerprint of its CA (trust on first use, as ssh does);
a later change is refused with exit status 3. Device state (identity key, group keys,
pinned contact keys, session) is stored encrypted under <config dir>/chat/.
`;

const OPTIONS = {
  "config-dir": { type: "string" },
  passphrase: { type: "boolean" },
  ca: { type: "string" },
  "accept-new-fingerprint": { type: "boolean" },
  timeout: { type: "string" },
  interface: { type: "string" },
} as const;

/** `parley chat [url]`: see USAGE. */
export async function chatCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const { values, positionals } = parseCommand(argv, OPTIONS, "chat");
  if (positionals.length > 1) throw usageError(`unexpected argument "${positionals[1]}"`, "chat");
  const timeoutS = Number(values.timeout ?? "3");
  if (!Number.isFinite(timeoutS) || timeoutS < 0.5 || timeoutS > 60) {
    throw usageError("--timeout must be a number of seconds from 0.5 to 60", "chat");
  }
  const iface = values.interface ?? null;
  if (iface !== null && isIP(iface) !== 4) throw usageError("--interface must be an IPv4 address", "chat");
  let url: URL | undefined;
  if (positionals[0] !== undefined) {
    try {
      url = new URL(positionals[0]);
    } catch {
      throw usageError(`"${positionals[0]}" is not a URL (https://host:port)`, "chat");
    }
  }
  const configDir = values["config-dir"] ?? defaultConfigDir();
  const envPassphrase = process.env.PARLEY_PASSPHRASE;

  const screen = new Screen({ input: process.stdin, output: process.stdout });
  screen.onInterrupt = () => screen.close();
  try {
    let announcedFingerprint: string | null = null;
    if (url === undefined) {
      const picked = await pickServer(screen, {
        timeoutMs: Math.round(timeoutS * 1000),
        interfaceAddress: iface,
      });
      url = picked.url;
      announcedFingerprint = picked.announcedFingerprint;
    }
    const trust = await trustServer({
      url,
      announcedFingerprint,
      configDir,
      caFile: values.ca,
      acceptNewFingerprint: values["accept-new-fingerprint"] === true,
      confirm: screen.interactive
        ? async (q) => /^\s*y(es)?\s*$/i.test((await screen.ask(q)) ?? "")
        : undefined,
      notice: (line) => screen.printUnwrapped(line),
    });
    const origin = originOf(url);
    const controller = new ChatController({
      screen,
      baseUrl: origin,
      fetch: trustedFetch({ ca: trust.ca }),
      WebSocket: pinnedWebSocket(trust.ca),
      lastUser: lastUserFile(configDir, origin),
      policyPins: policyPinFile(configDir, origin),
      openStore: async (username) =>
        (
          await openDeviceState({
            configDir,
            origin,
            username,
            usePassphrase:
              values.passphrase === true || (envPassphrase !== undefined && envPassphrase !== ""),
            passphrase: async () => {
              if (envPassphrase !== undefined && envPassphrase !== "") return envPassphrase;
              const answer = await screen.askSecret(`Passphrase for the device state of ${username}: `);
              if (answer === undefined) throw new CliError("no passphrase given", EXIT.usage);
              return answer;
            },
          })
        ).store,
      eraseStore: (username) => rm(stateFile(configDir, origin, username), { force: true }),
    });
    return await controller.run();
  } finally {
    screen.close();
  }
}
