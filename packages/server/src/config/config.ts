import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  DEFAULT_FILE_TYPES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_PENDING_INVITES,
  DEFAULT_MAX_ROOMS_PER_USER,
  FILE_MAX_BYTES_LIMIT,
  type MlsSuite,
  mimeEssence,
} from "@parley/protocol";

/**
 * Parley's configuration: one table of settings, each an environment variable and a CLI flag
 * (`PARLEY_FRAME_RATE` <-> `--frame-rate`; `DATABASE_URL` <-> `--database-url`). Read once at
 * start, validated, frozen. A flag wins over the environment. The README's configuration table
 * lists the same settings; a test keeps them in step.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly webDir: string | null;
  readonly tls: "auto" | "off";
  readonly tlsCert: string | null;
  readonly tlsKey: string | null;
  readonly allowedOrigins: readonly string[];
  readonly lanOnly: boolean;
  readonly allowCidrs: readonly string[];
  readonly mdns: "on" | "off";
  readonly mdnsInterface: string | null;
  readonly passwordPolicy: "default" | "nist" | "classic";
  readonly registration: "open" | "invite" | "closed";
  readonly requireTotp: "off" | "admins" | "all";
  readonly mlsSuite: MlsSuite;
  readonly bruteForceMaxFailures: number;
  readonly bruteForceWindowS: number;
  readonly bruteForceBlockS: number;
  readonly accountFreeFailures: number;
  readonly accountMaxDelayS: number;
  readonly authRatePerMin: number;
  readonly frameRate: number;
  readonly frameBurst: number;
  readonly maxFrameBytes: number;
  readonly maxBodyBytes: number;
  readonly maxConnectionsPerUser: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxDevicesPerAccount: number;
  readonly maxRoomsPerUser: number;
  readonly maxPendingInvites: number;
  readonly passwordChangesPerHour: number;
  readonly keyPackageClaimsPerPair: number;
  readonly keyPackageClaimsPerTarget: number;
  readonly keyPackageVerifyRate: number;
  readonly keyPackageVerifyBurst: number;
  readonly sendBufferBytes: number;
  readonly authTimeoutMs: number;
  readonly heartbeatS: number;
  readonly requestTimeoutS: number;
  readonly trustedProxies: readonly string[];
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  readonly auditRetentionDays: number;
  readonly adminRatePerMin: number;
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  readonly nodeId: string;
  readonly redisKeyPrefix: string;
  readonly duplicateLogin: "allow" | "reject";
  readonly offlineQueue: "off" | "on";
  readonly offlineQueueTtlS: number;
  readonly offlineQueueMaxPerDevice: number;
  readonly metricsToken: string | null;
  readonly files: "on" | "off";
  readonly fileStore: "auto" | "disk" | "database";
  readonly fileMaxBytes: number;
  readonly fileTtlS: number;
  readonly fileTypes: readonly string[];
  readonly fileQuotaBytes: number;
}

type Parser<T> = (raw: string, name: string) => T;

interface Setting<K extends keyof Config> {
  key: K;
  env: string;
  default: string;
  parse: Parser<Config[K]>;
  help: string;
  /** true: a URL whose password is redacted in the start-up summary; "token": the whole value is. */
  secret?: boolean | "token";
  /** The default when NODE_ENV=test, for settings that must stay off in tests unless asked for. */
  testDefault?: string;
  /** An earlier name of the variable, still read (with a warning at start) when the new one is unset. */
  formerly?: string;
}

export class ConfigError extends TypeError {
  readonly code = "CONFIG_INVALID";
}

const int =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || n < min || n > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
const num =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new ConfigError(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
};
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    if ((values as string[]).includes(raw)) return raw as T;
    throw new ConfigError(`${name} must be one of ${values.join(", ")}, got "${raw}"`);
  };
const list: Parser<readonly string[]> = (raw) =>
  raw
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
const optional: Parser<string | null> = (raw) => (raw.trim() === "" ? null : raw.trim());
const text: Parser<string> = (raw, name) => {
  if (raw.trim() === "") throw new ConfigError(`${name} must not be empty`);
  return raw.trim();
};
const ipv4OrEmpty: Parser<string | null> = (raw, name) => {
  const v = optional(raw, name);
  if (v !== null && isIP(v) !== 4) throw new ConfigError(`${name} must be an IPv4 address, got "${raw}"`);
  return v;
};
const origins: Parser<readonly string[]> = (raw, name) =>
  list(raw, name).map((o) => {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new ConfigError(`${name}: "${o}" is not an origin like https://chat.example:8443`);
    }
    if (url.origin !== o.replace(/\/$/, "")) {
      throw new ConfigError(`${name}: "${o}" is not an origin (scheme://host[:port], no path)`);
    }
    return url.origin;
  });
const urlOf =
  (...schemes: string[]): Parser<string | null> =>
  (raw, name) => {
    const v = optional(raw, name);
    if (v === null) return null;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new ConfigError(`${name} is not a valid URL`);
    }
    if (!schemes.includes(url.protocol)) {
      throw new ConfigError(`${name} must use ${schemes.join(" or ")}`);
    }
    return v;
  };

const bearerToken: Parser<string | null> = (raw, name) => {
  const v = raw.trim();
  if (v === "") return null;
  if (!/^[A-Za-z0-9._~+/=-]{16,512}$/.test(v)) {
    throw new ConfigError(`${name} must be 16-512 of A-Z a-z 0-9 . _ ~ + / = - (a bearer token)`);
  }
  return v;
};

const mimeTypes: Parser<readonly string[]> = (raw, name) =>
  list(raw, name).map((t) => {
    const lower = t.toLowerCase();
    if (/^[a-z0-9][a-z0-9!#$&^_.+-]*\/\*$/.test(lower)) return lower;
    const essence = mimeEssence(lower);
    if (essence === undefined || essence !== lower)
      throw new ConfigError(`${name}: "${t}" is not a MIME type like image/png or audio/*`);
    return essence;
  });

const nodeId: Parser<string> = (raw, name) => {
  const v = raw.trim();
  // A stable name lets a restarted server clear its own presence at once (docs/OPERATIONS.md).
  if (v === "") return randomBytes(6).toString("hex");
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(v)) {
    throw new ConfigError(`${name} must be 1-64 of A-Z a-z 0-9 . _ -, got "${raw}"`);
  }
  return v;
};

const redisKeyPrefix: Parser<string> = (raw, name) => {
  const v = raw.trim();
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(v)) {
    throw new ConfigError(`${name} must be 1-64 of A-Z a-z 0-9 . _ : -, got "${raw}"`);
  }
  return v;
};

// The settings table: the one place that names every setting, its default and its meaning.
const SETTINGS = [
  { key: "host", env: "PARLEY_HOST", default: "0.0.0.0", parse: text, help: "Address to bind." },
  { key: "port", env: "PARLEY_PORT", default: "8443", parse: int(0, 65535), help: "Port to bind (0: any)." },
  {
    key: "dataDir",
    env: "PARLEY_DATA_DIR",
    default: "./data",
    parse: (raw, name) => resolve(text(raw, name)),
    help: "SQLite database, TLS material and the JWT secret (mode 0600).",
  },
  {
    key: "webDir",
    env: "PARLEY_WEB_DIR",
    default: "",
    parse: (raw, name) => {
      const value = optional(raw, name);
      return value === null ? null : resolve(value);
    },
    help: "The browser client's files to serve at `/`; empty: the build in packages/web/dist.",
  },
  {
    key: "tls",
    env: "PARLEY_TLS",
    default: "auto",
    parse: oneOf("auto", "off"),
    help: "`auto`: HTTPS with a generated local CA (or PARLEY_TLS_CERT/KEY). `off`: plain HTTP, loopback host only.",
  },
  {
    key: "tlsCert",
    env: "PARLEY_TLS_CERT",
    default: "",
    parse: optional,
    help: "Operator's own certificate (PEM).",
  },
  {
    key: "tlsKey",
    env: "PARLEY_TLS_KEY",
    default: "",
    parse: optional,
    help: "Private key for PARLEY_TLS_CERT (PEM).",
  },
  {
    key: "allowedOrigins",
    env: "PARLEY_ALLOWED_ORIGINS",
    default: "",
    parse: origins,
    help: "Extra origins allowed to open WebSockets; the server's own origin always is.",
  },
  {
    key: "lanOnly",
    env: "PARLEY_LAN_ONLY",
    default: "true",
    parse: bool,
    help: "Accept only loopback, private, link-local and ULA source addresses.",
  },
  {
    key: "allowCidrs",
    env: "PARLEY_ALLOW_CIDRS",
    default: "",
    parse: list,
    help: "Extra source networks to accept (comma-separated CIDRs).",
  },
  {
    key: "mdns",
    env: "PARLEY_MDNS",
    default: "on",
    parse: oneOf("on", "off"),
    // shared/DESIGN.md: multicast stays off in tests unless a test turns it on inside a namespace.
    testDefault: "off",
    help: "Advertise the server on the LAN over mDNS/DNS-SD (`_parley._tcp`) for `parley discover`; `off` when NODE_ENV=test.",
  },
  {
    key: "mdnsInterface",
    env: "PARLEY_MDNS_INTERFACE",
    default: "",
    parse: ipv4OrEmpty,
    help: "IPv4 address of the one interface to advertise on; empty: every interface.",
  },
  {
    key: "passwordPolicy",
    env: "PARLEY_PASSWORD_POLICY",
    default: "default",
    parse: oneOf("default", "nist", "classic"),
    help: "`default` 12-128 chars + uppercase + special; `nist` 15+; `classic` 12-15.",
  },
  {
    key: "registration",
    env: "PARLEY_REGISTRATION",
    default: "open",
    parse: oneOf("open", "invite", "closed"),
    help: "Who may create an account (`invite`: admin-issued codes).",
  },
  {
    key: "requireTotp",
    env: "PARLEY_REQUIRE_TOTP",
    default: "off",
    parse: oneOf("off", "admins", "all"),
    help: "Who must sign in with a TOTP code as well (`admins` or `all`); one who has not enrolled is made to at their next sign-in. `off`: each person chooses.",
  },
  {
    key: "mlsSuite",
    env: "PARLEY_MLS_SUITE",
    default: "x25519",
    parse: oneOf("x25519", "xwing"),
    help: 'MLS cipher suite of new groups and KeyPackages: `x25519` (suite 3) or `xwing` (post-quantum hybrid X-Wing, suite 0x0054). Existing groups keep theirs; see "MLS cipher suite".',
  },
  {
    key: "bruteForceMaxFailures",
    env: "PARLEY_BRUTE_FORCE_MAX_FAILURES",
    formerly: "PARLEY_IDS_MAX_FAILURES",
    default: "5",
    parse: int(1, 1_000_000),
    help: "Failed logins from one IP within the window that block it.",
  },
  {
    key: "bruteForceWindowS",
    env: "PARLEY_BRUTE_FORCE_WINDOW_S",
    formerly: "PARLEY_IDS_WINDOW_S",
    default: "300",
    parse: int(1, 86_400),
    help: "Brute-force detection counting window, seconds.",
  },
  {
    key: "bruteForceBlockS",
    env: "PARLEY_BRUTE_FORCE_BLOCK_S",
    formerly: "PARLEY_IDS_BLOCK_S",
    default: "300",
    parse: int(1, 86_400),
    help: "How long a blocked IP stays blocked, seconds.",
  },
  {
    key: "accountFreeFailures",
    env: "PARLEY_ACCOUNT_FREE_FAILURES",
    default: "5",
    parse: int(1, 1_000_000),
    help: "Failed logins on one account (from any IP) before each further try must wait.",
  },
  {
    key: "accountMaxDelayS",
    env: "PARLEY_ACCOUNT_MAX_DELAY_S",
    default: "30",
    parse: int(1, 3600),
    help: "Cap of the per-account wait, which doubles per failure: never a permanent lock-out.",
  },
  {
    key: "authRatePerMin",
    env: "PARLEY_AUTH_RATE",
    default: "60",
    parse: int(1, 1_000_000),
    help: "Register/login/refresh requests per IP per minute.",
  },
  {
    key: "frameRate",
    env: "PARLEY_FRAME_RATE",
    formerly: "PARLEY_MSG_RATE",
    default: "10",
    parse: num(0.01, 1_000_000),
    help: "Frames per second per user (token bucket refill).",
  },
  {
    key: "frameBurst",
    env: "PARLEY_FRAME_BURST",
    formerly: "PARLEY_MSG_BURST",
    default: "20",
    parse: int(1, 1_000_000),
    help: "Token bucket size per user.",
  },
  {
    key: "maxFrameBytes",
    env: "PARLEY_MAX_FRAME_BYTES",
    default: String(DEFAULT_MAX_FRAME_BYTES),
    parse: int(1024, 64 * 1024 * 1024),
    help: "Largest WebSocket frame accepted.",
  },
  {
    key: "maxBodyBytes",
    env: "PARLEY_MAX_BODY_BYTES",
    default: "16384",
    parse: int(1024, 16 * 1024 * 1024),
    help: "Largest HTTP request body accepted.",
  },
  {
    key: "maxConnectionsPerUser",
    env: "PARLEY_MAX_CONNECTIONS_PER_USER",
    default: "8",
    parse: int(1, 10_000),
    help: "Open WebSockets per account.",
  },
  {
    key: "maxConnections",
    env: "PARLEY_MAX_CONNECTIONS",
    default: "10000",
    parse: int(16, 1_000_000),
    help: "Open TCP connections in all; beyond it new ones close at once. Keep below the descriptor limit.",
  },
  {
    key: "maxConnectionsPerIp",
    env: "PARLEY_MAX_CONNECTIONS_PER_IP",
    default: "500",
    parse: int(4, 1_000_000),
    help: "Open TCP connections from one address (trusted proxies exempt).",
  },
  {
    key: "maxDevicesPerAccount",
    env: "PARLEY_MAX_DEVICES_PER_ACCOUNT",
    default: "10",
    parse: int(1, 10_000),
    help: "Registered MLS devices per account; another is refused with `too_many_devices`.",
  },
  {
    key: "maxRoomsPerUser",
    env: "PARLEY_MAX_ROOMS_PER_USER",
    default: String(DEFAULT_MAX_ROOMS_PER_USER),
    parse: int(1, 1_000_000),
    help: "Rooms one account may own (created or handed over); another `room.create` is refused with `too_many_rooms`.",
  },
  {
    key: "maxPendingInvites",
    env: "PARLEY_MAX_PENDING_INVITES",
    default: String(DEFAULT_MAX_PENDING_INVITES),
    parse: int(1, 1_000_000),
    help: "Unanswered room invitations one account may have out; another `room.invite` is refused with `too_many_invites`.",
  },
  {
    key: "passwordChangesPerHour",
    env: "PARLEY_PASSWORD_CHANGES_PER_HOUR",
    default: "10",
    parse: int(1, 1_000_000),
    help: "Password changes per account per hour (each costs two argon2 hashes); beyond it `rate_limited`.",
  },
  {
    key: "keyPackageClaimsPerPair",
    env: "PARLEY_KEY_PACKAGE_CLAIMS_PER_PAIR",
    default: "10",
    parse: int(1, 1_000_000),
    help: "One-time KeyPackages one account may claim from another per hour; beyond it the last resort is handed out.",
  },
  {
    key: "keyPackageClaimsPerTarget",
    env: "PARLEY_KEY_PACKAGE_CLAIMS_PER_TARGET",
    default: "100",
    parse: int(1, 1_000_000),
    help: "One-time KeyPackages claimed from one account per hour by everyone; beyond it the last resort is handed out.",
  },
  {
    key: "keyPackageVerifyRate",
    env: "PARLEY_KEY_PACKAGE_VERIFY_RATE",
    default: "5",
    parse: num(0.01, 1_000_000),
    help: "KeyPackage signature checks per second per account (refill of the budget below).",
  },
  {
    key: "keyPackageVerifyBurst",
    env: "PARLEY_KEY_PACKAGE_VERIFY_BURST",
    default: "300",
    parse: int(101, 1_000_000),
    help: "KeyPackage signature checks an account may spend at once; beyond it `rate_limited`.",
  },
  {
    key: "sendBufferBytes",
    env: "PARLEY_SEND_BUFFER_BYTES",
    default: "4194304",
    parse: int(64 * 1024, 1024 * 1024 * 1024),
    help: "Unsent bytes a connection may queue before it is closed as a slow consumer.",
  },
  {
    key: "authTimeoutMs",
    env: "PARLEY_AUTH_TIMEOUT_MS",
    default: "5000",
    parse: int(50, 60_000),
    help: "Time a new WebSocket has to send its auth frame.",
  },
  {
    key: "heartbeatS",
    env: "PARLEY_HEARTBEAT_S",
    default: "25",
    parse: num(0.05, 3600),
    help: "Ping interval; two missed pongs close the connection.",
  },
  {
    key: "requestTimeoutS",
    env: "PARLEY_REQUEST_TIMEOUT_S",
    default: "30",
    parse: int(1, 3600),
    help: "Longest an HTTP request may take.",
  },
  {
    key: "trustedProxies",
    env: "PARLEY_TRUSTED_PROXIES",
    default: "",
    parse: list,
    help: "Proxies (IPs/CIDRs) whose X-Forwarded-For is believed.",
  },
  {
    key: "logLevel",
    env: "PARLEY_LOG_LEVEL",
    default: "info",
    parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"),
    help: "pino log level.",
  },
  {
    key: "auditRetentionDays",
    env: "PARLEY_AUDIT_RETENTION_DAYS",
    default: "90",
    parse: int(1, 3650),
    help: "Days the audit log keeps a security event; older entries are swept hourly.",
  },
  {
    key: "adminRatePerMin",
    env: "PARLEY_ADMIN_RATE",
    default: "600",
    parse: int(1, 100_000),
    help: "Requests one admin may make to `/api/admin/*` per minute.",
  },
  {
    key: "databaseUrl",
    env: "DATABASE_URL",
    default: "",
    parse: urlOf("postgres:", "postgresql:"),
    help: "PostgreSQL URL; empty: SQLite in the data dir.",
    secret: true,
  },
  {
    key: "redisUrl",
    env: "REDIS_URL",
    default: "",
    parse: urlOf("redis:", "rediss:"),
    help: "Redis URL for several servers; empty: in-memory bus.",
    secret: true,
  },
  {
    key: "nodeId",
    env: "PARLEY_NODE_ID",
    default: "",
    parse: nodeId,
    help: "This server's name among several on one Redis (1-64 of `A-Za-z0-9._-`); empty: random at each start.",
  },
  {
    key: "redisKeyPrefix",
    env: "PARLEY_REDIS_KEY_PREFIX",
    default: "parley:",
    parse: redisKeyPrefix,
    help: "Prefix of every Redis key and channel: one cluster's servers share it, another Parley on the same Redis uses its own.",
  },
  {
    key: "duplicateLogin",
    env: "PARLEY_DUPLICATE_LOGIN",
    default: "allow",
    parse: oneOf("allow", "reject"),
    help: "`reject`: refuse a second WebSocket for an account connected anywhere (4409 `duplicate_login`).",
  },
  {
    key: "offlineQueue",
    env: "PARLEY_OFFLINE_QUEUE",
    default: "off",
    parse: oneOf("off", "on"),
    help: "`on`: keep room messages (ciphertext only) for devices that are offline, until they fetch them or the TTL ends. `off`: never store a message.",
  },
  {
    key: "offlineQueueTtlS",
    env: "PARLEY_OFFLINE_QUEUE_TTL_S",
    default: "604800",
    parse: int(1, 30 * 86_400),
    help: "How long a queued message waits for its device, seconds (default 7 days, at most 30).",
  },
  {
    key: "offlineQueueMaxPerDevice",
    env: "PARLEY_OFFLINE_QUEUE_MAX_PER_DEVICE",
    default: "500",
    parse: int(1, 10_000),
    help: "Queued messages kept per device; beyond it the oldest are dropped and the device is told how many.",
  },
  {
    key: "metricsToken",
    env: "PARLEY_METRICS_TOKEN",
    default: "",
    parse: bearerToken,
    help: "When set, `/metrics` answers only requests with `Authorization: Bearer <this token>` (16-512 characters); empty: open to anyone the LAN filter lets in.",
    secret: "token",
  },
  {
    key: "files",
    env: "PARLEY_FILES",
    default: "on",
    parse: oneOf("on", "off"),
    help: "Encrypted files, photos and voice notes (ciphertext only, kept `PARLEY_FILE_TTL_S`). `off`: no uploads and no file storage; clients hide attaching.",
  },
  {
    key: "fileStore",
    env: "PARLEY_FILE_STORE",
    default: "auto",
    parse: oneOf("auto", "disk", "database"),
    help: "Where file ciphertext lives: `disk` (`files/` in the data dir), `database` (chunks in PostgreSQL, for clusters), `auto` (database on PostgreSQL, disk on SQLite).",
  },
  {
    key: "fileMaxBytes",
    env: "PARLEY_FILE_MAX_BYTES",
    default: "8388608",
    parse: int(0, FILE_MAX_BYTES_LIMIT),
    help: "Largest file, bytes of plaintext (default 8 MiB, at most 1 GiB).",
  },
  {
    key: "fileTtlS",
    env: "PARLEY_FILE_TTL_S",
    default: "86400",
    parse: int(60, 30 * 86_400),
    help: "How long the server keeps a file, seconds from the start of its upload (default 24 hours, at most 30 days); then downloads get 410.",
  },
  {
    key: "fileTypes",
    env: "PARLEY_FILE_TYPES",
    default: DEFAULT_FILE_TYPES.join(","),
    parse: mimeTypes,
    help: "Allowed MIME types, comma-separated (`type/subtype` or `type/*`); others get 415. Default: text, PDF, PNG, JPEG, GIF, WebP, common audio and video, zip.",
  },
  {
    key: "fileQuotaBytes",
    env: "PARLEY_FILE_QUOTA_BYTES",
    default: "268435456",
    parse: int(0, 2 ** 40),
    help: "Bytes of unexpired files one account may hold at once (default 256 MiB); beyond it uploads get `file_quota_exceeded`.",
  },
] as const satisfies readonly Setting<keyof Config>[];

export const CONFIG_SETTINGS: readonly { env: string; flag: string; default: string; help: string }[] =
  SETTINGS.map((s) => ({ env: s.env, flag: flagOf(s.env), default: s.default, help: s.help }));

function flagOf(env: string): string {
  return env
    .replace(/^PARLEY_/, "")
    .toLowerCase()
    .replaceAll("_", "-");
}

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  argv?: string[];
}

/** Reads, validates and freezes the configuration. Throws ConfigError with an exact message. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const { values } = parseArgs({
    args: options.argv ?? [],
    options: Object.fromEntries(SETTINGS.map((s) => [flagOf(s.env), { type: "string" as const }])),
    strict: true,
    allowPositionals: false,
  });
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const flag = flagOf(s.env);
    const fromFlag = values[flag];
    const fallback = "testDefault" in s && env.NODE_ENV === "test" ? s.testDefault : s.default;
    const formerly = "formerly" in s ? env[s.formerly] : undefined;
    const raw = typeof fromFlag === "string" ? fromFlag : (env[s.env] ?? formerly ?? fallback);
    const label =
      typeof fromFlag === "string"
        ? `--${flag}`
        : env[s.env] === undefined && formerly !== undefined && "formerly" in s
          ? s.formerly
          : s.env;
    out[s.key] = (s.parse as Parser<unknown>)(raw, label);
  }
  return validate(out as unknown as Config);
}

/**
 * Variables set under an earlier name (and not under the current one): the server still reads
 * them and warns at start, so an operator's existing service file keeps working.
 */
export function formerNamesIn(
  env: Record<string, string | undefined> = process.env,
): { formerly: string; now: string }[] {
  const out: { formerly: string; now: string }[] = [];
  for (const s of SETTINGS) {
    if (!("formerly" in s) || env[s.formerly] === undefined) continue;
    if (env[s.env] === undefined) out.push({ formerly: s.formerly, now: s.env });
  }
  return out;
}

/** Builds a configuration from defaults plus overrides, for tests and embedding. */
export function configWith(overrides: Partial<Config>, env: Record<string, string | undefined> = {}): Config {
  return validate({ ...loadConfig({ env }), ...overrides });
}

function validate(c: Config): Config {
  if (c.tls === "off" && !isLoopbackHost(c.host)) {
    throw new ConfigError(
      `PARLEY_TLS=off is only allowed with a loopback PARLEY_HOST (127.0.0.1, ::1, localhost), got "${c.host}"`,
    );
  }
  if ((c.tlsCert === null) !== (c.tlsKey === null)) {
    throw new ConfigError("PARLEY_TLS_CERT and PARLEY_TLS_KEY must be set together");
  }
  if (c.frameBurst < 1) throw new ConfigError("PARLEY_FRAME_BURST must be at least 1");
  const frozen: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) frozen[k] = Array.isArray(v) ? Object.freeze([...v]) : v;
  return Object.freeze(frozen) as unknown as Config;
}

export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

function redactUrl(v: string): string {
  try {
    const u = new URL(v);
    if (u.password) u.password = "***";
    // libpq and pg also take credentials from the query string.
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) u.searchParams.set(key, "***");
    }
    return u.toString();
  } catch {
    return "***";
  }
}

/** One line per setting for the start-up log, with secrets redacted. */
export function configSummary(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const v = c[s.key];
    if (!("secret" in s) || typeof v !== "string") out[s.env] = v;
    else out[s.env] = s.secret === "token" ? "[redacted]" : redactUrl(v);
  }
  return out;
}

/**
 * The effective settings as the audit log keeps them and the admin area shows them: by
 * environment name, secrets redacted (configSummary), lists joined with ",".
 */
export function settingsDetails(config: Config): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(configSummary(config))) {
    out[key] = Array.isArray(value)
      ? value.join(",")
      : typeof value === "object" && value !== null
        ? JSON.stringify(value)
        : (value as string | number | boolean | null);
  }
  return out;
}
