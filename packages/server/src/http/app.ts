import { createHash, timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import {
  ChangePasswordRequest,
  IdentityResetRequest,
  type IdentityResponse,
  type InfoResponse,
  LoginRequest,
  type MeResponse,
  PROTOCOL_VERSION,
  RefreshRequest,
  RegisterRequest,
  type ServerPolicyResponse,
  type UsersResponse,
} from "@parley/protocol";
import type { PasswordPolicy } from "@parley/protocol/password-policy";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import type { AuditEvent, AuditLog } from "../audit/audit-log.js";
import type { Bus } from "../bus/bus.js";
import { type Config, settingsDetails } from "../config/config.js";
import { AccountDeletion } from "../domain/account-deletion.js";
import type { AccountService } from "../domain/accounts.js";
import { BlockService } from "../domain/blocks.js";
import type { DeliveryService } from "../domain/delivery.js";
import { ParleyError } from "../domain/errors.js";
import type { FileService } from "../domain/files.js";
import { isLimiterRejection, type LimiterFactory } from "../domain/limiters.js";
import type { LoginGuard } from "../domain/login-guard.js";
import type { RecoveryService } from "../domain/recovery.js";
import type { RoomService } from "../domain/rooms.js";
import type { TotpService } from "../domain/totp.js";
import type { LiveFigures } from "../ops/live-figures.js";
import { LogThrottle } from "../ops/log-throttle.js";
import type { Metrics } from "../ops/metrics.js";
import type { Storage } from "../storage/storage.js";
import { isStorageFull } from "../storage/storage-full.js";
import { registerAccountRoutes } from "./account-routes.js";
import { registerAdminRoutes } from "./admin-routes.js";
import { authOf, requireAuth } from "./auth-hook.js";
import { registerFileRoutes } from "./file-routes.js";
import { clientOf, registerRecoveryRoutes } from "./recovery-routes.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { registerTotpRoutes } from "./totp-routes.js";
import { registerWebClient } from "./web-client.js";

export interface HttpAppOptions {
  config: Config;
  log: Logger;
  https: HttpsServerOptions | null;
  accounts: AccountService;
  /** The identity keys of accounts (the delivery service's directory). */
  identity: Pick<DeliveryService, "identityKey" | "resetIdentity">;
  /** For the admin's room deletion (ROOM-13). */
  rooms: RoomService;
  /** The encrypted files' blob store and its rules. */
  files: FileService;
  guard: LoginGuard;
  storage: Storage;
  bus: Bus;
  metrics: Metrics;
  limiters: LimiterFactory;
  policy: PasswordPolicy;
  caCertPem: string | null;
  caFingerprint: string | null;
  storageUp: () => Promise<boolean>;
  /** True while the server is draining for shutdown. */
  draining: () => boolean;
  /** The persisted audit log (AUDIT-1). */
  auditLog: AuditLog;
  /** Reset and recovery codes (AUTH-11, AUTH-12). */
  recovery: RecoveryService;
  /** The optional second factor (AUTH-13 to AUTH-15). */
  totp: TotpService;
  /** POLICY-1: the signed statement of what this server keeps and logs. */
  serverPolicy: ServerPolicyResponse;
  policyKeyFingerprint: string;
  /** The admin area's live rates, from the /metrics counters. */
  figures: LiveFigures;
}

/** A client's request headers arrive within this (a browser sends them in one packet). */
export const HEADERS_DEADLINE_MS = 10_000;

function headerDeadlines(config: Config): { headersTimeout: number; connectionsCheckingInterval: number } {
  return {
    headersTimeout: Math.min(HEADERS_DEADLINE_MS, config.requestTimeoutS * 1000),
    connectionsCheckingInterval: 1000,
  };
}

/** The REST API, health and metrics endpoints, and the static pages, on Fastify. */
export async function buildHttpApp(o: HttpAppOptions): Promise<FastifyInstance<Server>> {
  const { config } = o;
  const app = Fastify({
    loggerInstance: o.log.child({ component: "http" }),
    // Request lines are logged at debug level by our own hook, with the route, never the URL.
    logController: new LogController({ disableRequestLogging: true }),
    // Issue 15.6: headers must arrive within HEADERS_DEADLINE_MS (or the request timeout, if
    // shorter), checked every second, not Node's 60 s checked every 30 s.
    ...(o.https ? { https: { ...o.https, ...headerDeadlines(config) } } : { http: headerDeadlines(config) }),
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    bodyLimit: config.maxBodyBytes,
    requestTimeout: config.requestTimeoutS * 1000,
    connectionTimeout: config.requestTimeoutS * 1000,
    return503OnClosing: true,
    // JSON types must match the schema exactly: no "123" for 123 or the other way round.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, allErrors: false } },
    onProtoPoisoning: "remove",
    onConstructorPoisoning: "remove",
    // A malformed percent-encoding or an over-long route parameter is answered by the router
    // itself, with the framework's code and the path echoed back: send the registry's answer.
    frameworkErrors: (_error, _req, anyReply) => {
      const reply = anyReply as FastifyReply;
      reply
        .status(404)
        .header("Cache-Control", "no-store")
        .header("Content-Type", "application/json; charset=utf-8")
        .send(new ParleyError("not_found").toBody());
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance<Server>;

  app.decorateRequest("auth", null);
  // HTTP-6: a 405's `Allow` names the methods the routes take, collected as they are added, so a
  // new route with another method cannot leave it stale.
  const routeMethods = new Set<string>();
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routeMethods.add(method.toUpperCase());
  });
  const allowed = () =>
    [...routeMethods].sort((a, b) => methodRank(a) - methodRank(b) || a.localeCompare(b)).join(", ");
  // JSON only: a text/plain body is what a cross-site form can send without a CORS preflight.
  app.removeContentTypeParser("text/plain");
  registerSecurityHeaders(app, o.https !== null);

  app.addHook("onRequest", async (req, reply) => {
    // TRACE/TRACK echo requests back (cross-site tracing); nothing here needs them.
    if (req.method === "TRACE" || req.method === "TRACK") throw new ParleyError("method_not_allowed");
    if (req.url.startsWith("/api/")) {
      reply.header("Cache-Control", "no-store");
      // No CORS here: a browser page from another origin gets no answer it may read, and is
      // refused outright so it cannot even cause side effects.
      const origin = req.headers.origin;
      if (origin !== undefined && !sameOrigin(origin, req, o.https !== null, config.allowedOrigins)) {
        throw new ParleyError("origin_forbidden");
      }
    }
  });
  app.addHook("onResponse", async (req, reply) => {
    req.log.debug({ method: req.method, path: req.routeOptions.url, status: reply.statusCode }, "request");
  });

  const quiet = new LogThrottle();
  app.setErrorHandler(async (error: FastifyError | ParleyError, req, reply) => {
    if (clientWentAway(error, req)) {
      // The client's own doing (a body cut off, a closed tab): nobody is left to answer, and
      // anyone could fill the error log with it, so one info line per minute at most.
      const folded = quiet.take("request_aborted");
      if (folded > 0)
        req.log.info({ event: "request_aborted", count: folded }, "client went away mid-request");
      return reply;
    }
    let e = toParleyError(error);
    if (e.code === "internal_error" && isStorageFull(error)) {
      // The operator must act; the client is told nothing was saved. One line a minute at most.
      const folded = quiet.take("storage_full");
      if (folded > 0)
        req.log.error({ event: "storage_full", count: folded }, "a write failed: the storage is full");
      e = new ParleyError("storage_full");
    } else if (e.code === "internal_error") {
      req.log.error({ err: error }, "request failed");
      // A failure because the database is away is the client's "try again shortly", not a bug.
      if (!(await o.storageUp())) e = new ParleyError("service_unavailable", { retryAfterMs: 5000 });
    }
    if (e.retryAfterMs !== undefined)
      reply.header("Retry-After", Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
    if (e.code === "method_not_allowed") reply.header("Allow", allowed());
    return reply.status(e.status).header("Cache-Control", "no-store").send(e.toBody());
  });
  app.setNotFoundHandler((_req, reply) => {
    const e = new ParleyError("not_found");
    reply.status(404).send(e.toBody());
  });

  // Register, login and refresh cost an argon2 hash or a database write: cap them per IP.
  const authRate = o.limiters({ keyPrefix: "http_auth", points: config.authRatePerMin, duration: 60 });
  const rateLimitAuth = async (req: FastifyRequest) => {
    try {
      await authRate.consume(req.ip);
    } catch (e) {
      if (isLimiterRejection(e)) throw new ParleyError("rate_limited", { retryAfterMs: e.msBeforeNext });
      throw e;
    }
  };
  // AUDIT-1: the person is the actor of what they do themselves, from the request's address.
  const record = (req: FastifyRequest, event: AuditEvent) =>
    o.auditLog.record({ actorId: event.userId ?? null, ...clientOf(req), ...event });
  const auth = requireAuth(o.accounts, (code) => o.metrics.authFailures.inc({ kind: code }));
  // A password change costs two argon2 hashes in the queue logins use: charged per IP (with
  // register/login/refresh) and per account, before the body is looked at.
  const passwordRate = o.limiters({
    keyPrefix: "http_password",
    points: config.passwordChangesPerHour,
    duration: 3600,
  });
  const rateLimitPasswordChange = async (req: FastifyRequest) => {
    await rateLimitAuth(req);
    try {
      await passwordRate.consume(authOf(req).userId);
    } catch (e) {
      if (isLimiterRejection(e)) throw new ParleyError("rate_limited", { retryAfterMs: e.msBeforeNext });
      throw e;
    }
  };

  app.post(
    "/api/register",
    { schema: { body: RegisterRequest }, preHandler: rateLimitAuth },
    async (req, reply) => {
      const body = req.body as RegisterRequest;
      const session = await o.accounts.register(
        {
          username: body.username,
          password: body.password,
          ...(body.inviteCode !== undefined ? { inviteCode: body.inviteCode } : {}),
        },
        req.ip,
        clientOf(req).userAgent,
      );
      const who = { userId: session.user.id, username: session.user.username };
      record(req, { kind: "user_registered", ...who, details: { invite: config.registration === "invite" } });
      if (config.registration === "invite") record(req, { kind: "invite_used", ...who });
      return reply.status(201).send(session);
    },
  );

  app.post("/api/login", { schema: { body: LoginRequest }, preHandler: rateLimitAuth }, async (req) => {
    const body = req.body as LoginRequest;
    try {
      const answer = await o.accounts.login(body, req.ip, clientOf(req).userAgent);
      // AUTH-14: a challenge is not a sign-in yet; the second step records it.
      if ("user" in answer)
        record(req, { kind: "login_succeeded", userId: answer.user.id, username: answer.user.username });
      return answer;
    } catch (e) {
      if (e instanceof ParleyError) {
        o.metrics.authFailures.inc({ kind: e.code });
        o.metrics.loginFailures++;
        // The account, when there is one: a name nobody has may be a password typed in the
        // wrong field, so it is not kept.
        const user = await o.storage
          .findUserByUsername(body.username.normalize("NFKC").trim())
          .catch(() => undefined);
        record(req, {
          kind: "login_failed",
          actorId: null,
          ...(user ? { userId: user.id, username: user.username } : {}),
          details: { reason: e.code },
        });
      }
      throw e;
    }
  });

  app.post(
    "/api/token/refresh",
    { schema: { body: RefreshRequest }, preHandler: rateLimitAuth },
    async (req) => {
      try {
        return await o.accounts.refresh((req.body as RefreshRequest).refreshToken);
      } catch (e) {
        if (e instanceof ParleyError) o.metrics.authFailures.inc({ kind: e.code });
        throw e;
      }
    },
  );

  app.post("/api/logout", { preHandler: auth }, async (req, reply) => {
    const a = authOf(req);
    await o.accounts.logout(a);
    record(req, {
      kind: "session_revoked",
      userId: a.userId,
      username: a.username,
      details: { reason: "logout" },
    });
    return reply.status(204).send();
  });

  app.post(
    "/api/password",
    { schema: { body: ChangePasswordRequest }, preHandler: [auth, rateLimitPasswordChange] },
    async (req, reply) => {
      const body = req.body as ChangePasswordRequest;
      const a = authOf(req);
      await o.accounts.changePassword(a, body.currentPassword, body.newPassword, req.ip);
      record(req, { kind: "password_changed", userId: a.userId, username: a.username });
      return reply.status(204).send();
    },
  );

  const deletion = new AccountDeletion({
    storage: o.storage,
    accounts: o.accounts,
    rooms: o.rooms,
    files: o.files,
  });
  registerAccountRoutes(app, {
    accounts: o.accounts,
    deletion,
    blocks: new BlockService(o.storage),
    requireAuth: auth,
    rateLimitPasswordChange,
    record,
  });

  registerRecoveryRoutes(app, {
    recovery: o.recovery,
    requireAuth: auth,
    rateLimitAuth,
    rateLimitPasswordChange,
  });

  registerTotpRoutes(app, {
    accounts: o.accounts,
    totp: o.totp,
    storage: o.storage,
    requireAuth: auth,
    rateLimitAuth,
    rateLimitPasswordChange,
    record,
    onAuthFailure: (code) => o.metrics.authFailures.inc({ kind: code }),
  });

  // IDENT-2: a new sign-in asks whether the account has an identity before making one.
  app.get(
    "/api/identity",
    { preHandler: auth },
    async (req): Promise<IdentityResponse> => ({
      identityKey: await o.identity.identityKey(authOf(req).userId),
    }),
  );

  // IDENT-4: an identity reset costs an argon2 hash: charged like a password change.
  app.post(
    "/api/identity/reset",
    { schema: { body: IdentityResetRequest }, preHandler: [auth, rateLimitPasswordChange] },
    async (req, reply) => {
      const body = req.body as IdentityResetRequest;
      const a = authOf(req);
      await o.accounts.withPassword(a, body.password, req.ip, () =>
        o.identity.resetIdentity(a.userId, body.identityKey),
      );
      record(req, { kind: "identity_reset", userId: a.userId, username: a.username });
      return reply.status(204).send();
    },
  );

  app.get("/api/me", { preHandler: auth }, async (req): Promise<MeResponse> => {
    const a = authOf(req);
    return { user: { id: a.userId, username: a.username, isAdmin: a.isAdmin }, sessionId: a.sessionId };
  });

  app.get("/api/users", { preHandler: auth }, async (): Promise<UsersResponse> => {
    const [users, online] = await Promise.all([o.storage.listUsers(), o.bus.onlineUserIds()]);
    return {
      users: users
        .filter((u) => !u.disabled)
        .map((u) => ({ id: u.id, username: u.username, online: online.has(u.id) }))
        .sort((a, b) => a.username.localeCompare(b.username)),
    };
  });

  app.get("/api/info", async (): Promise<InfoResponse> => {
    const p = o.policy;
    return {
      name: "parley",
      protocolVersion: PROTOCOL_VERSION,
      registration: config.registration,
      passwordPolicy: {
        name: p.name,
        minLength: p.minLength,
        maxLength: p.maxLength,
        requireUppercase: p.requireUppercase,
        requireSpecial: p.requireSpecial,
        specialCharacters: p.specialCharacters,
        rejectCommon: p.rejectCommon,
        rejectUsername: p.rejectUsername,
      },
      limits: {
        maxFrameBytes: config.maxFrameBytes,
        messageRate: config.frameRate,
        messageBurst: config.frameBurst,
      },
      caFingerprint: o.caFingerprint,
      policyKeyFingerprint: o.policyKeyFingerprint,
      storage:
        config.offlineQueue === "on"
          ? { messages: "queue", queueTtlSeconds: config.offlineQueueTtlS }
          : { messages: "none" },
      mlsSuite: config.mlsSuite,
      files: {
        enabled: config.files === "on",
        maxBytes: config.fileMaxBytes,
        ttlSeconds: config.fileTtlS,
        types: [...config.fileTypes],
        quotaBytes: config.fileQuotaBytes,
      },
    };
  });

  // POLICY-1: no auth, so a client can check it before anyone signs in.
  app.get("/api/policy", async (): Promise<ServerPolicyResponse> => o.serverPolicy);

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const checks: Record<string, boolean> = { draining: !o.draining(), bus: o.bus.healthy() };
    try {
      await o.storage.ping();
      checks.database = true;
    } catch {
      checks.database = false;
    }
    const ready = Object.values(checks).every(Boolean);
    return reply
      .status(ready ? 200 : 503)
      .header("Cache-Control", "no-store")
      .send({ ready, checks });
  });
  app.get("/metrics", async (req, reply) => {
    if (config.metricsToken !== null && !bearerMatches(req.headers.authorization, config.metricsToken))
      throw new ParleyError("token_invalid");
    reply.header("Content-Type", o.metrics.registry.contentType).header("Cache-Control", "no-store");
    return o.metrics.registry.metrics();
  });

  if (o.caCertPem !== null) {
    const pem = o.caCertPem;
    app.get("/ca.crt", async (_req, reply) =>
      reply
        .header("Content-Type", "application/x-x509-ca-cert")
        .header("Content-Disposition", 'attachment; filename="parley-ca.crt"')
        .send(pem),
    );
  }

  const web = await registerWebClient(app, config.webDir);
  if (web === "placeholder")
    o.log.warn("the browser client is not built (npm run build): / shows a placeholder");

  await registerFileRoutes(app, { files: o.files, requireAuth: auth });

  await registerAdminRoutes(app, {
    accounts: o.accounts,
    deletion,
    rooms: o.rooms,
    storage: o.storage,
    guard: o.guard,
    requireAuth: auth,
    auditLog: o.auditLog,
    recovery: o.recovery,
    totp: o.totp,
    limiters: o.limiters,
    ratePerMin: config.adminRatePerMin,
    bus: o.bus,
    figures: o.figures,
    settings: () => settingsDetails(config),
  });

  return app;
}

/** Whether `header` is `Bearer <expected>`, compared in constant time (SHA-256 of both sides). */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? "");
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(m?.[1] ?? ""), digest(expected)) && m !== null;
}

function sameOrigin(origin: string, req: FastifyRequest, tls: boolean, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  try {
    const u = new URL(origin);
    return u.protocol === (tls ? "https:" : "http:") && u.host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * The client closed the connection before the request was read: Node's "aborted" error, or a
 * socket already gone. Not `req.raw.destroyed`: a request stream destroys itself once its body
 * has been read, so that would silence every later failure (a database outage's 503 included).
 */
function clientWentAway(error: FastifyError | ParleyError, req: FastifyRequest): boolean {
  if (error instanceof ParleyError) return false;
  return (error.code === "ECONNRESET" && error.message === "aborted") || req.raw.socket.destroyed;
}

/** Maps Fastify's own errors onto the registry's stable codes. */
function toParleyError(error: FastifyError | ParleyError): ParleyError {
  if (error instanceof ParleyError) return error;
  if (error.validation) {
    const details = error.validation.map((v) => v.instancePath || "/").slice(0, 5);
    return new ParleyError("validation_failed", { details });
  }
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ParleyError("body_too_large");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ParleyError("malformed_json");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ParleyError("unsupported_media_type");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ParleyError("validation_failed", { details: ["content-length"] });
    case "FST_ERR_NOT_FOUND":
      return new ParleyError("not_found");
  }
  if (error.statusCode === 408) return new ParleyError("request_timeout");
  if (error.statusCode === 400 && error.message.includes("JSON")) return new ParleyError("malformed_json");
  return new ParleyError("internal_error");
}

/** The usual order of methods in an `Allow` header; others after them, alphabetically. */
const METHOD_ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
function methodRank(method: string): number {
  const i = METHOD_ORDER.indexOf(method);
  return i === -1 ? METHOD_ORDER.length : i;
}
