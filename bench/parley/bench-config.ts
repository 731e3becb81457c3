/**
 * The benchmark configuration of Parley: the production code path with limits raised so that
 * the harness is not throttled by defences built for the open LAN. Nothing here is a switch
 * that skips a check: every frame is still authenticated, validated and rate-limited, only
 * against bigger numbers. The report prints this table.
 */
export interface BenchSetting {
  readonly env: string;
  readonly value: string;
  readonly why: string;
}

export function parleyBenchSettings(o: { tls: boolean; dataDir: string }): BenchSetting[] {
  return [
    { env: "PARLEY_HOST", value: "127.0.0.1", why: "loopback only" },
    { env: "PARLEY_PORT", value: "0", why: "any free port, read from the `listening` log line" },
    { env: "PARLEY_DATA_DIR", value: o.dataDir, why: "a fresh temporary directory per run" },
    {
      env: "PARLEY_TLS",
      value: o.tls ? "auto" : "off",
      why: o.tls
        ? "the generated local CA, as in production"
        : "plain ws on loopback, like the reference servers (apples to apples)",
    },
    {
      env: "PARLEY_MDNS",
      value: "off",
      why: "no multicast on the machine's real interfaces (shared/DESIGN.md, network tests)",
    },
    {
      env: "PARLEY_DUPLICATE_LOGIN",
      value: "allow",
      why: "the idle scenario holds several sockets per account (the default, stated)",
    },
    {
      env: "PARLEY_LOG_LEVEL",
      value: "info",
      why: "the `listening` event is at info; nothing on the message path logs at info",
    },
    { env: "PARLEY_AUTH_RATE", value: "1000000", why: "all clients register/log in from one IP" },
    { env: "PARLEY_IDS_MAX_FAILURES", value: "1000000", why: "no harness mistake blocks the loopback IP" },
    { env: "PARLEY_MSG_RATE", value: "1000000", why: "max-rate scenarios send far above a human's rate" },
    { env: "PARLEY_MSG_BURST", value: "1000000", why: "as above" },
    {
      env: "PARLEY_MAX_CONNECTIONS_PER_USER",
      value: "10000",
      why: "idle scenario holds up to 20k sockets over fewer accounts",
    },
  ];
}

export function settingsEnv(settings: readonly BenchSetting[]): Record<string, string> {
  return Object.fromEntries(settings.map((s) => [s.env, s.value]));
}
