import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import {
  CONFIG_SETTINGS,
  type Config,
  ConfigError,
  configSummary,
  configWith,
  formerNamesIn,
  loadConfig,
} from "./config.js";

/** Asserts that `fn` throws ConfigError (CONFIG_INVALID) naming `setting`. */
function assertConfigError(fn: () => unknown, setting: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.equal(err.code, "CONFIG_INVALID");
    assert.ok(err.message.includes(setting), `"${err.message}" does not name ${setting}`);
    return true;
  });
}

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({ env: {}, argv: [] });
    assert.equal(c.host, "0.0.0.0");
    assert.equal(c.port, 8443);
    assert.equal(c.dataDir, resolve("./data"));
    assert.equal(c.tls, "auto");
    assert.equal(c.tlsCert, null);
    assert.equal(c.tlsKey, null);
    assert.deepEqual(c.allowedOrigins, []);
    assert.equal(c.lanOnly, true);
    assert.deepEqual(c.allowCidrs, []);
    assert.equal(c.passwordPolicy, "default");
    assert.equal(c.registration, "open");
    assert.equal(c.bruteForceMaxFailures, 5);
    assert.equal(c.bruteForceWindowS, 300);
    assert.equal(c.bruteForceBlockS, 300);
    assert.equal(c.frameRate, 10);
    assert.equal(c.frameBurst, 20);
    assert.equal(c.maxFrameBytes, 262_144);
    assert.deepEqual(c.trustedProxies, []);
    assert.equal(c.logLevel, "info");
    assert.equal(c.databaseUrl, null);
    assert.equal(c.redisUrl, null);
    assert.equal(c.redisKeyPrefix, "parley:");
  });

  it("reads every setting from the environment", () => {
    const c = loadConfig({
      env: {
        PARLEY_HOST: "127.0.0.1",
        PARLEY_PORT: "9443",
        PARLEY_DATA_DIR: "/var/lib/parley",
        PARLEY_TLS: "off",
        PARLEY_ALLOWED_ORIGINS: "https://chat.example:8443, https://other.example",
        PARLEY_LAN_ONLY: "false",
        PARLEY_ALLOW_CIDRS: "203.0.113.0/24,198.51.100.0/24",
        PARLEY_PASSWORD_POLICY: "nist",
        PARLEY_REGISTRATION: "invite",
        PARLEY_BRUTE_FORCE_MAX_FAILURES: "8",
        PARLEY_BRUTE_FORCE_WINDOW_S: "600",
        PARLEY_BRUTE_FORCE_BLOCK_S: "900",
        PARLEY_FRAME_RATE: "2.5",
        PARLEY_FRAME_BURST: "5",
        PARLEY_MAX_FRAME_BYTES: "65536",
        PARLEY_TRUSTED_PROXIES: "203.0.113.1 203.0.113.2",
        PARLEY_LOG_LEVEL: "warn",
        DATABASE_URL: "postgres://parley@db.example:5432/parley",
        REDIS_URL: "redis://cache.example:6379",
        PARLEY_REDIS_KEY_PREFIX: "team-b:",
      },
    });
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.port, 9443);
    assert.equal(c.dataDir, "/var/lib/parley");
    assert.equal(c.tls, "off");
    assert.deepEqual(c.allowedOrigins, ["https://chat.example:8443", "https://other.example"]);
    assert.equal(c.lanOnly, false);
    assert.deepEqual(c.allowCidrs, ["203.0.113.0/24", "198.51.100.0/24"]);
    assert.equal(c.passwordPolicy, "nist");
    assert.equal(c.registration, "invite");
    assert.equal(c.bruteForceMaxFailures, 8);
    assert.equal(c.bruteForceWindowS, 600);
    assert.equal(c.bruteForceBlockS, 900);
    assert.equal(c.frameRate, 2.5);
    assert.equal(c.frameBurst, 5);
    assert.equal(c.maxFrameBytes, 65_536);
    assert.deepEqual(c.trustedProxies, ["203.0.113.1", "203.0.113.2"]);
    assert.equal(c.logLevel, "warn");
    assert.equal(c.databaseUrl, "postgres://parley@db.example:5432/parley");
    assert.equal(c.redisUrl, "redis://cache.example:6379");
    assert.equal(c.redisKeyPrefix, "team-b:");
  });

  it("still reads a setting under its former name, the new name winning, and says which were used", () => {
    const old = loadConfig({ env: { PARLEY_IDS_MAX_FAILURES: "7", PARLEY_MSG_RATE: "3" } });
    assert.equal(old.bruteForceMaxFailures, 7);
    assert.equal(old.frameRate, 3);
    const both = loadConfig({ env: { PARLEY_IDS_MAX_FAILURES: "7", PARLEY_BRUTE_FORCE_MAX_FAILURES: "9" } });
    assert.equal(both.bruteForceMaxFailures, 9);
    assert.deepEqual(
      formerNamesIn({ PARLEY_IDS_MAX_FAILURES: "7", PARLEY_MSG_BURST: "4", PARLEY_FRAME_BURST: "5" }),
      [{ formerly: "PARLEY_IDS_MAX_FAILURES", now: "PARLEY_BRUTE_FORCE_MAX_FAILURES" }],
    );
    assertConfigError(() => loadConfig({ env: { PARLEY_MSG_BURST: "0" } }), "PARLEY_MSG_BURST");
  });

  it("accepts every spelling of a boolean", () => {
    for (const yes of ["1", "true", "TRUE", "yes", "on"]) {
      assert.equal(loadConfig({ env: { PARLEY_LAN_ONLY: yes } }).lanOnly, true, yes);
    }
    for (const no of ["0", "false", "No", "off"]) {
      assert.equal(loadConfig({ env: { PARLEY_LAN_ONLY: no } }).lanOnly, false, no);
    }
  });

  it("lets a CLI flag win over the environment", () => {
    const c = loadConfig({
      env: { PARLEY_PORT: "8000", PARLEY_BRUTE_FORCE_MAX_FAILURES: "3", PARLEY_FRAME_RATE: "4" },
      argv: [
        "--port",
        "9000",
        "--brute-force-max-failures",
        "7",
        "--database-url=postgres://db.example/parley",
      ],
    });
    assert.equal(c.port, 9000);
    assert.equal(c.bruteForceMaxFailures, 7);
    assert.equal(c.frameRate, 4, "a setting without a flag still comes from the environment");
    assert.equal(c.databaseUrl, "postgres://db.example/parley");
  });

  it("offers every setting as a flag named after its variable", () => {
    for (const s of CONFIG_SETTINGS) {
      assert.equal(
        s.flag,
        s.env
          .replace(/^PARLEY_/, "")
          .toLowerCase()
          .replaceAll("_", "-"),
      );
    }
    assert.ok(CONFIG_SETTINGS.some((s) => s.env === "DATABASE_URL" && s.flag === "database-url"));
  });

  describe("refuses invalid values with ConfigError naming the setting", () => {
    const cases: [string, Record<string, string>, string][] = [
      ["a port that is not a number", { PARLEY_PORT: "https" }, "PARLEY_PORT"],
      ["a port out of range", { PARLEY_PORT: "70000" }, "PARLEY_PORT"],
      ["a negative port", { PARLEY_PORT: "-1" }, "PARLEY_PORT"],
      ["a fractional count", { PARLEY_BRUTE_FORCE_MAX_FAILURES: "2.5" }, "PARLEY_BRUTE_FORCE_MAX_FAILURES"],
      ["a zero count", { PARLEY_BRUTE_FORCE_MAX_FAILURES: "0" }, "PARLEY_BRUTE_FORCE_MAX_FAILURES"],
      ["an empty number", { PARLEY_FRAME_RATE: "" }, "PARLEY_FRAME_RATE"],
      ["a boolean that is neither", { PARLEY_LAN_ONLY: "maybe" }, "PARLEY_LAN_ONLY"],
      ["an unknown TLS mode", { PARLEY_TLS: "on" }, "PARLEY_TLS"],
      ["an unknown password policy", { PARLEY_PASSWORD_POLICY: "weak" }, "PARLEY_PASSWORD_POLICY"],
      ["an unknown registration mode", { PARLEY_REGISTRATION: "anyone" }, "PARLEY_REGISTRATION"],
      ["an unknown log level", { PARLEY_LOG_LEVEL: "verbose" }, "PARLEY_LOG_LEVEL"],
      ["an origin that is not a URL", { PARLEY_ALLOWED_ORIGINS: "chat.example" }, "PARLEY_ALLOWED_ORIGINS"],
      [
        "an origin with a path",
        { PARLEY_ALLOWED_ORIGINS: "https://chat.example/app" },
        "PARLEY_ALLOWED_ORIGINS",
      ],
      ["a database URL of another scheme", { DATABASE_URL: "mysql://db.example/parley" }, "DATABASE_URL"],
      ["a Redis URL of another scheme", { REDIS_URL: "http://cache.example:6379" }, "REDIS_URL"],
      ["an empty host", { PARLEY_HOST: " " }, "PARLEY_HOST"],
      ["an empty Redis key prefix", { PARLEY_REDIS_KEY_PREFIX: "" }, "PARLEY_REDIS_KEY_PREFIX"],
      ["a Redis key prefix with a glob", { PARLEY_REDIS_KEY_PREFIX: "parley*" }, "PARLEY_REDIS_KEY_PREFIX"],
      ["TLS off on a non-loopback host", { PARLEY_TLS: "off" }, "PARLEY_TLS"],
      ["TLS off on a LAN address", { PARLEY_TLS: "off", PARLEY_HOST: "203.0.113.10" }, "PARLEY_HOST"],
      ["a certificate without a key", { PARLEY_TLS_CERT: "/etc/parley/cert.pem" }, "PARLEY_TLS_KEY"],
      ["a key without a certificate", { PARLEY_TLS_KEY: "/etc/parley/key.pem" }, "PARLEY_TLS_CERT"],
    ];
    for (const [why, env, setting] of cases) {
      it(why, () => assertConfigError(() => loadConfig({ env }), setting));
    }

    it("names the flag when the bad value came from one", () => {
      assertConfigError(() => loadConfig({ env: {}, argv: ["--port", "eighty"] }), "--port");
    });
  });

  it("allows TLS off on every loopback host", () => {
    for (const host of ["127.0.0.1", "127.0.0.2", "::1", "localhost"]) {
      assert.equal(loadConfig({ env: { PARLEY_TLS: "off", PARLEY_HOST: host } }).tls, "off", host);
    }
  });

  it("throws on an unknown flag and on a positional argument", () => {
    assert.throws(() => loadConfig({ env: {}, argv: ["--no-such-setting", "1"] }), TypeError);
    assert.throws(() => loadConfig({ env: {}, argv: ["serve"] }), TypeError);
  });

  it("returns a frozen configuration", () => {
    const c = loadConfig({ env: {} }) as { -readonly [K in keyof Config]: Config[K] };
    assert.ok(Object.isFrozen(c));
    assert.throws(() => {
      c.port = 1;
    }, TypeError);
  });

  it("freezes the lists inside the configuration too", () => {
    const c = loadConfig({ env: { PARLEY_ALLOWED_ORIGINS: "https://chat.example" } });
    assert.ok(Object.isFrozen(c.allowedOrigins));
    assert.ok(Object.isFrozen(c.allowCidrs));
    assert.ok(Object.isFrozen(c.trustedProxies));
  });
});

describe("configWith", () => {
  it("applies overrides on top of the defaults and freezes the result", () => {
    const c = configWith({ port: 0, registration: "closed" });
    assert.equal(c.port, 0);
    assert.equal(c.registration, "closed");
    assert.equal(c.bruteForceMaxFailures, 5);
    assert.ok(Object.isFrozen(c));
  });

  it("reads the environment it is given, with overrides winning", () => {
    const c = configWith({ frameBurst: 3 }, { PARLEY_FRAME_BURST: "9", PARLEY_FRAME_RATE: "1" });
    assert.equal(c.frameBurst, 3);
    assert.equal(c.frameRate, 1);
  });

  it("checks the combined result", () => {
    assertConfigError(() => configWith({ tls: "off", host: "0.0.0.0" }), "PARLEY_TLS");
    assertConfigError(() => configWith({ tlsCert: "/etc/parley/cert.pem" }), "PARLEY_TLS_KEY");
    assert.equal(configWith({ tls: "off", host: "127.0.0.1" }).tls, "off");
  });
});

describe("configSummary", () => {
  it("has one entry per setting, under its variable's name", () => {
    const summary = configSummary(loadConfig({ env: {} }));
    assert.deepEqual(Object.keys(summary).sort(), CONFIG_SETTINGS.map((s) => s.env).sort());
    assert.equal(summary.PARLEY_PORT, 8443);
  });

  it("redacts the password in DATABASE_URL and REDIS_URL but keeps the rest", () => {
    const c = loadConfig({
      env: {
        DATABASE_URL: "postgres://parley:db-s3cret-pw@db.example:5432/parley",
        REDIS_URL: "redis://:redis-s3cret-pw@cache.example:6379/0",
      },
    });
    const summary = configSummary(c);
    const text = JSON.stringify(summary);
    assert.ok(!text.includes("db-s3cret-pw"), text);
    assert.ok(!text.includes("redis-s3cret-pw"), text);
    assert.match(String(summary.DATABASE_URL), /^postgres:\/\/parley:[^@]+@db\.example:5432\/parley$/);
    assert.match(String(summary.REDIS_URL), /^redis:\/\/:[^@]+@cache\.example:6379\/0$/);
    // The configuration itself keeps the real value for the connection.
    assert.equal(c.databaseUrl, "postgres://parley:db-s3cret-pw@db.example:5432/parley");
  });

  it("redacts a password given as a query parameter of DATABASE_URL (pg reads it from there too)", () => {
    const c = loadConfig({
      env: { DATABASE_URL: "postgres://parley@db.example/parley?password=q-s3cret-pw" },
    });
    assert.ok(!JSON.stringify(configSummary(c)).includes("q-s3cret-pw"));
  });

  it("leaves URLs without a password and unset URLs as they are", () => {
    const summary = configSummary(loadConfig({ env: { REDIS_URL: "redis://cache.example:6379" } }));
    assert.equal(summary.REDIS_URL, "redis://cache.example:6379");
    assert.equal(summary.DATABASE_URL, null);
  });
});

describe("README", () => {
  const readmeUrl = new URL("../../../../README.md", import.meta.url);

  it("mentions every configuration variable", async () => {
    const readme = await readFile(readmeUrl, "utf8");
    const missing = CONFIG_SETTINGS.map((s) => s.env).filter((env) => !readme.includes(env));
    assert.deepEqual(missing, []);
  });

  it("gives each variable's default on its line", async () => {
    const lines = (await readFile(readmeUrl, "utf8")).split("\n");
    const wrong = CONFIG_SETTINGS.filter((s) => s.default !== "")
      .filter((s) => !lines.some((line) => line.includes(s.env) && line.includes(s.default)))
      .map((s) => `${s.env}=${s.default}`);
    assert.deepEqual(wrong, []);
  });
});
