import { networkInterfaces } from "node:os";
import { CONFIG_SETTINGS, ConfigError, configSummary, formerNamesIn, loadConfig } from "./config/config.js";
import { createLogger } from "./ops/logger.js";
import { startServer } from "./server.js";
import { plainBanner, terminalBanner } from "./start-banner.js";

export interface RunServerOptions {
  /** How the command is called in usage and error lines. Default "parley". */
  prog?: string;
}

/**
 * The server as a command (`npm start`, `parley-server`, `parley server`): configuration from
 * `argv` and the environment, readable logs and a start-up banner with a QR code on a terminal
 * (JSON logs and a one-line banner on stderr elsewhere), a graceful stop on SIGTERM or
 * SIGINT. It owns the process from then on: exit 2 on a bad configuration (one line on stderr),
 * 1 when the server cannot start or stop cleanly, 0 after a clean stop.
 */
export async function runServer(argv: string[], options: RunServerOptions = {}): Promise<void> {
  const prog = options.prog ?? "parley";
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage(prog));
    return;
  }
  try {
    await serve(argv);
  } catch (e) {
    const code =
      e instanceof ConfigError || (e as { code?: string }).code ? ` (${(e as { code?: string }).code})` : "";
    process.stderr.write(`${prog}: could not start${code}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }

  async function serve(args: string[]): Promise<void> {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig({ argv: args });
    } catch (e) {
      process.stderr.write(`${prog}: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    }
    const log = createLogger(config.logLevel, undefined, { pretty: process.stdout.isTTY === true });
    log.info({ event: "config", config: configSummary(config) }, "configuration");
    for (const { formerly, now } of formerNamesIn()) {
      log.warn(
        { event: "config_renamed", formerly, now },
        `${formerly} is now called ${now}; please rename it`,
      );
    }

    const server = await startServer(config, { log });
    const scheme = config.tls === "auto" ? "https" : "http";
    const urls = lanUrls(scheme, config.host, server.port);
    log.info({ event: "listening", urls, caFingerprint: server.caFingerprint }, "Parley is listening");

    // On a terminal: the banner with a QR code. Otherwise (a service, a log file) one plain line
    // on stderr, so stdout stays one JSON object per line for whatever reads the logs.
    const banner = {
      urls,
      caFingerprint: server.caFingerprint && server.caCertPem ? server.caFingerprint : null,
    };
    if (process.stdout.isTTY) process.stdout.write(await terminalBanner(banner));
    else process.stderr.write(plainBanner(banner));

    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ event: "shutdown", signal }, "shutting down");
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      server.close().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  }
}

function usage(prog: string): string {
  const lines = [
    `usage: ${prog} [--<setting> VALUE]...`,
    "",
    "Starts the Parley server. Every setting is also an environment variable; a flag wins.",
    "",
  ];
  for (const s of CONFIG_SETTINGS) {
    const flag = `  --${s.flag} VALUE`.padEnd(36);
    lines.push(`${flag}${s.env} (default: ${s.default === "" ? "empty" : s.default})`);
    lines.push(`      ${s.help}`);
  }
  return `${lines.join("\n")}\n`;
}

function lanUrls(scheme: string, host: string, port: number): string[] {
  if (host !== "0.0.0.0" && host !== "::")
    return [`${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === "IPv4") out.push(`${scheme}://${a.address}:${port}`);
    }
  }
  return out;
}
