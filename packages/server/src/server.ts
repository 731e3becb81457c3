import { mkdir } from "node:fs/promises";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { sealedSize } from "@parley/crypto";
import { PASSWORD_POLICIES } from "@parley/protocol/password-policy";
import type { Logger } from "pino";
import proxyAddr from "proxy-addr";
import { AuditLog } from "./audit/audit-log.js";
import { DiskBlobStore } from "./blobs/disk-blob-store.js";
import type { Bus, SessionEndReason } from "./bus/bus.js";
import { MemoryBus } from "./bus/memory-bus.js";
import { RedisBus, type RedisBusTuning } from "./bus/redis-bus.js";
import { RedisLimiters } from "./bus/redis-limiters.js";
import { type Config, settingsDetails } from "./config/config.js";
import { AccountService } from "./domain/accounts.js";
import { DeliveryService } from "./domain/delivery.js";
import { DeviceStreams } from "./domain/device-stream.js";
import { FileService } from "./domain/files.js";
import { asRoomId, type SessionId } from "./domain/ids.js";
import { type LimiterFactory, memoryLimiters } from "./domain/limiters.js";
import { LinkRelay } from "./domain/link-relay.js";
import { LoginGuard } from "./domain/login-guard.js";
import { MembershipCache } from "./domain/membership-cache.js";
import { MessageIdGenerator } from "./domain/message-id-generator.js";
import { OfflineQueue } from "./domain/offline-queue.js";
import { PassphraseGuard } from "./domain/passphrase-guard.js";
import { dummyPasswordHash, hasher } from "./domain/password-hasher.js";
import { RecoveryService } from "./domain/recovery.js";
import { Relay } from "./domain/relay.js";
import { RoomService } from "./domain/rooms.js";
import { SecretBox } from "./domain/secret-box.js";
import { SubscriptionService } from "./domain/subscriptions.js";
import { loadOrCreateSecret, TokenService } from "./domain/tokens.js";
import { TotpService } from "./domain/totp.js";
import { buildHttpApp } from "./http/app.js";
import { ConnectionCaps, createSourceFilter } from "./lan/index.js";
import { startMdnsAdvertiser } from "./lan/mdns.js";
import { LiveFigures } from "./ops/live-figures.js";
import { Metrics } from "./ops/metrics.js";
import { loadOrCreatePolicyKey } from "./policy/policy-key.js";
import { signedPolicy } from "./policy/statement.js";
import { openStorage } from "./storage/open-storage.js";
import type { Storage } from "./storage/storage.js";
import {
  defaultHostnames,
  ensureTlsMaterial,
  interfaceAddresses,
  loadOperatorTls,
  tlsServerOptions,
} from "./tls/index.js";
import { Gateway } from "./ws/gateway.js";

export interface StartOptions {
  log: Logger;
  /** Overrides for tests and embedding; production uses the defaults from the config. */
  bus?: Bus;
  limiters?: LimiterFactory;
  storage?: Storage;
  /** With REDIS_URL: key prefix (default `parley:`) and timings, for tests and shared Redis servers. */
  redis?: RedisBusTuning;
  /** The file rules' clock (expiry), for tests. Default Date.now. */
  filesClock?: () => number;
  /** The TOTP codes' clock, for tests. Default Date.now. */
  totpClock?: () => number;
}

export interface ParleyServer {
  readonly config: Config;
  /** e.g. https://127.0.0.1:8443 (the bound address; 0.0.0.0 is shown as 127.0.0.1). */
  readonly url: string;
  readonly port: number;
  readonly caCertPem: string | null;
  readonly caFingerprint: string | null;
  /** POLICY-1: SHA-256 of the key that signs the server's policy statement. */
  readonly policyKeyFingerprint: string;
  readonly storage: Storage;
  readonly gateway: Gateway;
  /** The encrypted files' rules and blob store (its sweep runs on a timer too). */
  readonly files: FileService;
  /** Graceful stop: refuse new connections, close sockets with 1001, flush, release. */
  close(): Promise<void>;
}

const TLS_RECHECK_MS = 12 * 60 * 60 * 1000;

/** Builds every part of a Parley server from its configuration and starts listening. */
export async function startServer(config: Config, options: StartOptions): Promise<ParleyServer> {
  const { log } = options;
  // The password hasher's process starts with the server, not at the first login, which would
  // block the event loop and compete for the CPU just as the logins arrive (password-hasher.ts);
  // the dummy hash unknown usernames are checked against is made meanwhile.
  const hasherStarted = dummyPasswordHash().then(
    () => {
      const priority = hasher.priority;
      // "normal" only under NODE_ENV=test (hasherOptions), where that is the point.
      if (priority === "idle" || priority === "normal")
        log.info({ event: "hasher_started", priority }, "password hasher started");
      else
        log.warn(
          { event: "hasher_started", priority },
          "password hasher started without SCHED_IDLE: bursts of logins may slow the chat",
        );
    },
    (err: unknown) =>
      log.warn(
        { err, event: "hasher_start_failed" },
        "the password hasher could not start; logins will retry",
      ),
  );
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  let https: { material: Awaited<ReturnType<typeof ensureTlsMaterial>> | null; options: object } | null =
    null;
  let caCertPem: string | null = null;
  // Issue 15.6: the request deadline also bounds the TLS handshake (Node's default is 120 s), so
  // a connection that never starts TLS does not hold a descriptor for two minutes.
  const deadlines = { handshakeTimeout: config.requestTimeoutS * 1000 };
  let caFingerprint: string | null = null;
  if (config.tls === "auto") {
    if (config.tlsCert && config.tlsKey) {
      const own = await loadOperatorTls(config.tlsCert, config.tlsKey);
      // The operator's certificate chains to their own CA, which this server does not know:
      // no /ca.crt and no CA fingerprint to show.
      https = { material: null, options: { ...tlsServerOptions(own), ...deadlines } };
    } else {
      const material = await ensureTlsMaterial({
        dataDir: config.dataDir,
        hostnames: defaultHostnames(),
        ipAddresses: interfaceAddresses(),
      });
      https = { material, options: { ...tlsServerOptions(material), ...deadlines } };
      caCertPem = material.caCertPem;
      caFingerprint = material.caFingerprintSha256;
      if (material.generated.ca)
        log.warn({ event: "tls_ca_created" }, "created a new local certificate authority");
    }
  }

  // POLICY-1: the key that signs what this server keeps and logs, made at first start.
  const policyKey = await loadOrCreatePolicyKey(join(config.dataDir, "policy-key.pem"));
  if (policyKey.generated) log.warn({ event: "policy_key_created" }, "created a new policy-signing key");
  const serverPolicy = signedPolicy(config, policyKey);

  const storage =
    options.storage ??
    (await openStorage({
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      sqliteFile: join(config.dataDir, "parley.db"),
    }));
  let redisBus: RedisBus | null = null;
  let redisLimiters: RedisLimiters | null = null;
  if (config.redisUrl) {
    // A test's tuning may name its own prefix; otherwise PARLEY_REDIS_KEY_PREFIX, for bus and limiters alike.
    const keyPrefix = options.redis?.keyPrefix ?? config.redisKeyPrefix;
    if (!options.bus) {
      redisBus = new RedisBus({
        ...options.redis,
        keyPrefix,
        url: config.redisUrl,
        nodeId: config.nodeId,
        log: log.child({ component: "bus" }),
        usernameOf: async (id) => (await storage.findUserById(id))?.username,
      });
      // Without Redis the server still serves its own users; /readyz says not ready meanwhile.
      if (!(await redisBus.waitUntilReady(5000))) {
        log.warn({ event: "redis_unavailable" }, "Redis does not answer yet; serving local users only");
      }
    }
    if (!options.limiters) {
      redisLimiters = new RedisLimiters({
        url: config.redisUrl,
        keyPrefix,
        connectionName: `parley:${config.nodeId}:limiters`,
        ...(options.redis?.retryDelayMs ? { retryDelayMs: options.redis.retryDelayMs } : {}),
      });
    }
  }
  const bus: Bus = options.bus ?? redisBus ?? new MemoryBus();
  const limiters = options.limiters ?? redisLimiters?.factory ?? memoryLimiters;
  const metrics = new Metrics();
  metrics.busDrops = redisBus?.dropped;
  const figures = new LiveFigures(metrics);
  const audit = log.child({ component: "audit" });
  const auditLog = new AuditLog({
    store: storage.audit,
    log: audit,
    nodeId: config.nodeId,
    retentionDays: config.auditRetentionDays,
  });
  auditLog.record({ kind: "settings_at_start", details: settingsDetails(config) });
  const secret = await loadOrCreateSecret(join(config.dataDir, "jwt.secret"));
  const tokens = new TokenService({ secret, issuer: "parley", audience: "parley-clients" });
  const policy = PASSWORD_POLICIES[config.passwordPolicy];
  const guard = new LoginGuard({
    maxFailures: config.bruteForceMaxFailures,
    windowS: config.bruteForceWindowS,
    blockS: config.bruteForceBlockS,
    accountFreeFailures: config.accountFreeFailures,
    accountMaxDelayS: config.accountMaxDelayS,
    limiters,
    audit: (event) => {
      if (event.event === "ip_blocked") {
        metrics.blocks.inc();
        auditLog.record({
          kind: "ip_blocked",
          ip: event.ip,
          details: { seconds: event.seconds, failures: event.failures },
        });
      } else if (event.event === "ip_unblocked" && event.by === "expiry") {
        auditLog.record({ kind: "ip_unblocked", ip: event.ip, details: { by: "expiry" } });
      } else {
        // An admin's unblock is recorded by the admin service, with the admin; a throttled
        // account stays a log line.
        audit.warn(event, event.event);
      }
    },
  });
  const revoke = (sessionId: SessionId, reason: SessionEndReason) =>
    bus.publishControl({ type: "session.revoked", sessionId, reason });
  // AUTH-13: TOTP secrets are sealed with their own key from the data dir (servers sharing a
  // database share it, as they share jwt.secret).
  const totp = new TotpService({
    storage,
    guard,
    box: new SecretBox(await loadOrCreateSecret(join(config.dataDir, "totp.key"))),
    require: config.requireTotp,
    audit: (event) => auditLog.record(event),
    ...(options.totpClock ? { now: options.totpClock } : {}),
  });
  const accounts = new AccountService({
    storage,
    tokens,
    guard,
    policy,
    totp,
    registration: config.registration,
    onSessionRevoked: revoke,
    audit: (event) => auditLog.record(event),
  });
  const recovery = new RecoveryService({
    storage,
    guard,
    policy,
    onSessionRevoked: revoke,
    audit: (event) => auditLog.record(event),
  });
  const membership = new MembershipCache(storage);
  const subscriptions = new SubscriptionService(storage, bus);
  const delivery = new DeliveryService({
    storage,
    bus,
    limiters,
    maxDevicesPerAccount: config.maxDevicesPerAccount,
    claimsPerPair: config.keyPackageClaimsPerPair,
    claimsPerTarget: config.keyPackageClaimsPerTarget,
    verifyBudget: { ratePerSecond: config.keyPackageVerifyRate, burst: config.keyPackageVerifyBurst },
    onVerified: (n) => metrics.keyPackagesVerified.inc(n),
    mlsSuite: config.mlsSuite,
    onDeviceAdded: (ref) =>
      auditLog.record({
        kind: "device_added",
        actorId: ref.userId,
        userId: ref.userId,
        details: { deviceId: ref.deviceId },
      }),
    onDeviceRemoved: (ref, by) =>
      auditLog.record({
        kind: "device_removed",
        actorId: ref.userId,
        userId: ref.userId,
        details: { deviceId: ref.deviceId, by },
      }),
  });
  const links = new LinkRelay({
    bus,
    limiters,
    isRegistered: (userId, deviceId) => delivery.isRegistered(userId, deviceId),
  });
  // RELAY-5: off unless the operator turns it on; then ciphertext waits for offline devices.
  const offlineQueue =
    config.offlineQueue === "on"
      ? new OfflineQueue({
          storage,
          bus,
          ttlMs: config.offlineQueueTtlS * 1000,
          maxPerDevice: config.offlineQueueMaxPerDevice,
          // The device may be connecting to this server or another one right now (the bus
          // hands the event to this server's gateway too).
          onQueued: (devices) => bus.publishControl({ type: "queue.written", devices }),
          counters: { written: metrics.queueWritten, dropped: metrics.queueDropped },
        })
      : undefined;
  const streams = new DeviceStreams({
    delivery,
    offlineQueue,
    isMember: (roomId, userId) => storage.isMember(roomId, userId),
    counters: { queueSent: metrics.queueSent },
  });
  const rooms = new RoomService({
    storage,
    bus,
    membership,
    onMemberGone: (userId, roomId) => streams.memberGone(userId, roomId),
    maxRoomsPerUser: config.maxRoomsPerUser,
    maxPendingInvites: config.maxPendingInvites,
    limiters,
    // ROOM-15: wrong room passphrases are limited like failed logins.
    passphrases: new PassphraseGuard({
      limiters,
      maxFailures: config.bruteForceMaxFailures,
      windowS: config.bruteForceWindowS,
      blockS: config.bruteForceBlockS,
    }),
  });
  const relay = new Relay({
    bus,
    membership,
    subscriptions,
    messageIds: new MessageIdGenerator(),
    // A primary-key lookup, not cached, so a disabled account stops receiving at once.
    userExists: async (id) => {
      const u = await storage.findUserById(id);
      return u !== undefined && !u.disabled;
    },
    ...(offlineQueue
      ? {
          offlineQueue,
          onQueueError: (err: unknown) =>
            log.error(
              { err, event: "offline_queue_failed" },
              "could not queue a message for offline devices",
            ),
        }
      : {}),
  });
  const files = new FileService({
    files: storage.files,
    blobs:
      config.fileStore === "database" || (config.fileStore === "auto" && storage.dialect === "postgres")
        ? storage.fileBlobs
        : new DiskBlobStore(join(config.dataDir, "files")),
    limits: {
      enabled: config.files === "on",
      maxBytes: config.fileMaxBytes,
      ttlMs: config.fileTtlS * 1000,
      types: config.fileTypes,
      quotaBytes: config.fileQuotaBytes,
    },
    isMember: (roomId, userId) => storage.isMember(asRoomId(roomId), userId),
    sealedSize,
    ...(options.filesClock ? { now: options.filesClock } : {}),
  });
  const storageUp = () =>
    storage.ping().then(
      () => true,
      () => false,
    );

  let draining = false;
  const app = await buildHttpApp({
    config,
    log,
    https: https ? (https.options as never) : null,
    accounts,
    identity: delivery,
    rooms,
    files,
    guard,
    storage,
    bus,
    metrics,
    limiters,
    policy,
    caCertPem,
    caFingerprint,
    storageUp,
    draining: () => draining,
    auditLog,
    recovery,
    totp,
    serverPolicy,
    policyKeyFingerprint: policyKey.fingerprint,
    figures,
  });
  const server = app.server as Server;

  const trust = proxyAddr.compile([...config.trustedProxies]);
  const clientIp = (req: IncomingMessage) =>
    config.trustedProxies.length > 0 ? proxyAddr(req, trust) : (req.socket.remoteAddress ?? "");
  const gateway = new Gateway({
    config,
    bus,
    accounts,
    delivery,
    links,
    rooms,
    relay,
    subscriptions,
    membership,
    streams,
    metrics,
    log: log.child({ component: "ws" }),
    clientIp,
    storageUp,
  });
  gateway.attach(server);

  // LAN only: a source outside the allowed networks gets a closed connection before TLS starts;
  // so does one over a connection cap (issue 15.6), counted in parley_connections_refused_total.
  const allowed = createSourceFilter({ lanOnly: config.lanOnly, allowCidrs: [...config.allowCidrs] });
  const caps = new ConnectionCaps({
    maxTotal: config.maxConnections,
    maxPerIp: config.maxConnectionsPerIp,
    exempt: (ip) => config.trustedProxies.length > 0 && trust(ip, 0),
  });
  const lastAudit = new Map<string, number>();
  const auditOnce = (ip: string, what: () => void) => {
    const now = Date.now();
    if ((lastAudit.get(ip) ?? 0) >= now - 60_000) return;
    if (lastAudit.size > 10_000) lastAudit.clear();
    lastAudit.set(ip, now);
    what();
  };
  server.prependListener("connection", (socket) => {
    const ip = socket.remoteAddress ?? "";
    if (!allowed(ip)) {
      auditOnce(ip, () =>
        audit.warn({ event: "source_refused", ip }, "connection from outside the allowed networks refused"),
      );
      socket.destroy();
      return;
    }
    const refused = caps.admit(ip);
    if (refused === undefined) {
      socket.once("close", () => caps.release(ip));
      return;
    }
    metrics.connectionsRefused.inc({ reason: refused });
    auditOnce(ip, () =>
      audit.warn(
        {
          event: "connection_cap",
          reason: refused,
          ip,
          open: refused === "global" ? caps.total : caps.from(ip),
        },
        "connection refused: a connection cap is reached",
      ),
    );
    socket.destroy();
  });

  await hasherStarted;
  await app.listen({ host: config.host, port: config.port });
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const url = `${https ? "https" : "http"}://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${port}`;
  const mdns =
    config.mdns === "on"
      ? startMdnsAdvertiser({
          port,
          caFingerprint,
          tls: https !== null,
          interfaceAddress: config.mdnsInterface,
          log,
        })
      : null;

  // Renew the leaf before it expires, or when the machine gained an address, without a restart.
  const tlsTimer = setInterval(async () => {
    if (!https?.material) return;
    try {
      const next = await ensureTlsMaterial({
        dataDir: config.dataDir,
        hostnames: defaultHostnames(),
        ipAddresses: interfaceAddresses(),
      });
      if (next.generated.leaf) {
        (server as unknown as { setSecureContext(o: object): void }).setSecureContext(tlsServerOptions(next));
        log.info({ event: "tls_leaf_renewed", reason: next.leafIssueReason }, "server certificate renewed");
      }
    } catch (err) {
      log.error({ err, event: "tls_renew_failed" }, "could not renew the server certificate");
    }
  }, TLS_RECHECK_MS);
  tlsTimer.unref();
  // Spent refresh tokens are only evidence for reuse detection until they expire.
  const purgeTimer = setInterval(
    () => {
      storage.purgeExpiredRefreshTokens(Date.now()).catch((err: unknown) => {
        log.warn({ err, event: "purge_failed" }, "could not purge expired refresh tokens");
      });
      totp.purgeChallenges().catch((err: unknown) => {
        log.warn({ err, event: "purge_failed" }, "could not purge expired login challenges");
      });
    },
    60 * 60 * 1000,
  );
  purgeTimer.unref();
  // RELAY-5: expired entries also go for devices that never come back (reads purge the rest),
  // and, hourly, those left from a time the queue was on.
  const queueSweep = setInterval(
    () => {
      storage.offlineQueue.purgeExpired(Date.now()).then(
        (expired) => metrics.queueExpired.inc(expired),
        (err: unknown) => {
          log.warn({ err, event: "offline_queue_sweep_failed" }, "could not purge expired queued messages");
        },
      );
    },
    offlineQueue ? Math.min(60_000, config.offlineQueueTtlS * 1000) : 60 * 60 * 1000,
  );
  queueSweep.unref();
  // Expired files' ciphertext goes (every minute, or at each TTL when that is shorter);
  // with files off, what an earlier run stored still goes when it expires.
  const fileSweep = setInterval(
    () => {
      files.sweep().then(
        (expired) => {
          if (expired > 0) log.info({ event: "files_expired", count: expired }, "expired files deleted");
        },
        (err: unknown) => log.warn({ err, event: "file_sweep_failed" }, "could not delete expired files"),
      );
    },
    Math.min(60_000, config.fileTtlS * 1000),
  );
  fileSweep.unref();
  // AUDIT-1: entries older than PARLEY_AUDIT_RETENTION_DAYS go, at start and hourly. On a
  // cluster every server sweeps the shared table; the deletes are idempotent.
  const sweepAudit = () =>
    auditLog.sweep().catch((err: unknown) => {
      log.warn({ err, event: "audit_sweep_failed" }, "could not purge old audit entries");
      return 0;
    });
  void sweepAudit();
  const auditSweep = setInterval(sweepAudit, 60 * 60 * 1000);
  auditSweep.unref();

  let closing: Promise<void> | null = null;
  return {
    config,
    url,
    port,
    caCertPem,
    caFingerprint,
    policyKeyFingerprint: policyKey.fingerprint,
    storage,
    gateway,
    files,
    close() {
      closing ??= (async () => {
        draining = true;
        files.stop();
        await mdns?.stop();
        clearInterval(tlsTimer);
        clearInterval(purgeTimer);
        clearInterval(queueSweep);
        clearInterval(fileSweep);
        clearInterval(auditSweep);
        figures.close();
        server.close();
        await gateway.shutdown();
        await app.close();
        guard.close();
        await bus.close();
        await redisLimiters?.close();
        await auditLog.flush();
        if (!options.storage) await storage.close();
        log.info({ event: "stopped" }, "server stopped");
        await new Promise<void>((resolve) => log.flush(() => resolve()));
      })();
      return closing;
    },
  };
}
