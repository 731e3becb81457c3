import type { Server } from "node:http";
import {
  PasswordResetRequest,
  RecoveryCodesRequest,
  type RecoveryCodesResponse,
  type RecoveryCodesStatus,
} from "@parley/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { cleanUserAgent } from "../audit/audit-log.js";
import type { ClientContext, RecoveryService } from "../domain/recovery.js";
import { authOf } from "./auth-hook.js";

export interface RecoveryRouteDeps {
  recovery: RecoveryService;
  requireAuth: (req: FastifyRequest) => Promise<void>;
  /** The per-IP cap of register, login and refresh. */
  rateLimitAuth: (req: FastifyRequest) => Promise<void>;
  /** The per-IP and per-account cap of password changes. */
  rateLimitPasswordChange: (req: FastifyRequest) => Promise<void>;
}

export function clientOf(req: FastifyRequest): ClientContext {
  return { ip: req.ip, userAgent: cleanUserAgent(req.headers["user-agent"]) };
}

/** Account recovery without email (PROTOCOL.md AUTH-11, AUTH-12). */
export function registerRecoveryRoutes(app: FastifyInstance<Server>, deps: RecoveryRouteDeps): void {
  const { recovery } = deps;

  // Costs an argon2 hash like a login, and a wrong code counts as a failed login.
  app.post(
    "/api/password/reset",
    { schema: { body: PasswordResetRequest }, preHandler: deps.rateLimitAuth },
    async (req, reply) => {
      const body = req.body as PasswordResetRequest;
      await recovery.resetPassword(body, clientOf(req));
      return reply.status(204).send();
    },
  );

  app.post(
    "/api/recovery-codes",
    { schema: { body: RecoveryCodesRequest }, preHandler: [deps.requireAuth, deps.rateLimitPasswordChange] },
    async (req, reply) => {
      const body = req.body as RecoveryCodesRequest;
      const codes: RecoveryCodesResponse = await recovery.createRecoveryCodes(
        authOf(req).userId,
        body.password,
        clientOf(req),
      );
      return reply.status(201).send(codes);
    },
  );

  app.get(
    "/api/recovery-codes",
    { preHandler: deps.requireAuth },
    async (req): Promise<RecoveryCodesStatus> => ({
      remaining: await recovery.remaining(authOf(req).userId),
    }),
  );
}
