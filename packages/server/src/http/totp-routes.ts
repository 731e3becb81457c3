import type { Server } from "node:http";
import {
  type LoginEnrolledResponse,
  LoginTotpEnrolRequest,
  LoginTotpRequest,
  type SessionResponse,
  TotpConfirmRequest,
  TotpDisableRequest,
  type TotpEnrolment,
  TotpEnrolRequest,
  type TotpRecoveryCodes,
  type TotpStatus,
} from "@parley/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuditEvent } from "../audit/audit-log.js";
import type { AccountService } from "../domain/accounts.js";
import { ParleyError } from "../domain/errors.js";
import type { TotpService } from "../domain/totp.js";
import type { Storage } from "../storage/storage.js";
import { authOf } from "./auth-hook.js";
import { clientOf } from "./recovery-routes.js";

export interface TotpRouteDeps {
  accounts: AccountService;
  totp: TotpService;
  storage: Storage;
  requireAuth: (req: FastifyRequest) => Promise<void>;
  /** The per-IP cap of register, login and refresh. */
  rateLimitAuth: (req: FastifyRequest) => Promise<void>;
  /** The per-IP and per-account cap of password changes (enrol and disable check the password). */
  rateLimitPasswordChange: (req: FastifyRequest) => Promise<void>;
  record: (req: FastifyRequest, event: AuditEvent) => void;
  onAuthFailure: (code: string) => void;
}

/** Optional TOTP: the login's second step and the account's setting (PROTOCOL.md AUTH-13 to AUTH-15). */
export function registerTotpRoutes(app: FastifyInstance<Server>, deps: TotpRouteDeps): void {
  const { accounts, totp } = deps;
  const counted = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      if (e instanceof ParleyError) deps.onAuthFailure(e.code);
      throw e;
    }
  };
  const succeeded = (req: FastifyRequest, session: SessionResponse) =>
    deps.record(req, {
      kind: "login_succeeded",
      userId: session.user.id,
      username: session.user.username,
      details: { secondFactor: "totp" },
    });

  app.post(
    "/api/login/totp",
    { schema: { body: LoginTotpRequest }, preHandler: deps.rateLimitAuth },
    async (req): Promise<SessionResponse> => {
      const body = req.body as LoginTotpRequest;
      const session = await counted(() => accounts.loginTotp(body.challenge, body.code, clientOf(req)));
      succeeded(req, session);
      return session;
    },
  );

  app.post(
    "/api/login/totp/enrol",
    { schema: { body: LoginTotpEnrolRequest }, preHandler: deps.rateLimitAuth },
    async (req): Promise<TotpEnrolment> => {
      const body = req.body as LoginTotpEnrolRequest;
      return counted(() => accounts.loginTotpEnrol(body.challenge, clientOf(req)));
    },
  );

  app.post(
    "/api/login/totp/confirm",
    { schema: { body: LoginTotpRequest }, preHandler: deps.rateLimitAuth },
    async (req): Promise<LoginEnrolledResponse> => {
      const body = req.body as LoginTotpRequest;
      const done = await counted(() => accounts.loginTotpConfirm(body.challenge, body.code, clientOf(req)));
      succeeded(req, done.session);
      return done;
    },
  );

  app.get("/api/totp", { preHandler: deps.requireAuth }, async (req): Promise<TotpStatus> => {
    const user = await deps.storage.findUserById(authOf(req).userId);
    if (!user) throw new ParleyError("session_revoked");
    return totp.status(user);
  });

  app.post(
    "/api/totp/enrol",
    { schema: { body: TotpEnrolRequest }, preHandler: [deps.requireAuth, deps.rateLimitPasswordChange] },
    async (req): Promise<TotpEnrolment> => {
      const body = req.body as TotpEnrolRequest;
      return totp.enrol(authOf(req).userId, body.password, clientOf(req));
    },
  );

  app.post(
    "/api/totp/confirm",
    { schema: { body: TotpConfirmRequest }, preHandler: [deps.requireAuth, deps.rateLimitAuth] },
    async (req): Promise<TotpRecoveryCodes> => {
      const body = req.body as TotpConfirmRequest;
      return { recoveryCodes: await totp.confirm(authOf(req).userId, body.code, clientOf(req)) };
    },
  );

  app.post(
    "/api/totp/disable",
    { schema: { body: TotpDisableRequest }, preHandler: [deps.requireAuth, deps.rateLimitPasswordChange] },
    async (req, reply) => {
      const body = req.body as TotpDisableRequest;
      await totp.disable(authOf(req).userId, body.password, body.code, clientOf(req));
      return reply.status(204).send();
    },
  );
}
