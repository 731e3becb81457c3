import type { Server } from "node:http";
import {
  type AccountDeletedResponse,
  BlockParams,
  type BlocksResponse,
  DeleteAccountRequest,
  SessionParams,
  type SessionsResponse,
} from "@parley/protocol";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuditEvent } from "../audit/audit-log.js";
import type { AccountDeletion } from "../domain/account-deletion.js";
import type { AccountService } from "../domain/accounts.js";
import type { BlockService } from "../domain/blocks.js";
import { asUserId } from "../domain/ids.js";
import { authOf } from "./auth-hook.js";

export interface AccountRouteDeps {
  accounts: AccountService;
  deletion: AccountDeletion;
  blocks: BlockService;
  requireAuth: (req: FastifyRequest) => Promise<void>;
  /** Charged before anything that hashes a password (per IP and per account). */
  rateLimitPasswordChange: (req: FastifyRequest) => Promise<void>;
  record: (req: FastifyRequest, event: AuditEvent) => void;
}

/** A person's own account: sessions (ACCT-1, ACCT-2), deletion (ACCT-3), block list (ACCT-6). */
export function registerAccountRoutes(app: FastifyInstance<Server>, deps: AccountRouteDeps): void {
  const { accounts, requireAuth: auth, record } = deps;

  app.get(
    "/api/sessions",
    { preHandler: auth },
    async (req): Promise<SessionsResponse> => ({ sessions: await accounts.listSessions(authOf(req)) }),
  );

  app.delete(
    "/api/sessions/:sessionId",
    { schema: { params: SessionParams }, preHandler: auth },
    async (req, reply) => {
      const a = authOf(req);
      await accounts.endSession(a, (req.params as SessionParams).sessionId);
      record(req, {
        kind: "session_revoked",
        userId: a.userId,
        username: a.username,
        details: { reason: "ended_by_user" },
      });
      return reply.status(204).send();
    },
  );

  app.delete(
    "/api/me",
    { schema: { body: DeleteAccountRequest }, preHandler: [auth, deps.rateLimitPasswordChange] },
    async (req): Promise<AccountDeletedResponse> => {
      const a = authOf(req);
      await accounts.confirmPassword(a, (req.body as DeleteAccountRequest).password, req.ip);
      const deleted = await deps.deletion.delete(a.userId, null);
      record(req, {
        kind: "account_deleted",
        userId: a.userId,
        username: a.username,
        details: { by: "self", rooms: deleted.rooms, devices: deleted.devices, files: deleted.files },
      });
      return { deleted };
    },
  );

  app.get(
    "/api/blocks",
    { preHandler: auth },
    async (req): Promise<BlocksResponse> => ({ blocked: await deps.blocks.list(authOf(req)) }),
  );

  app.put(
    "/api/blocks/:userId",
    { schema: { params: BlockParams }, preHandler: auth },
    async (req, reply) => {
      await deps.blocks.block(authOf(req), asUserId((req.params as BlockParams).userId));
      return reply.status(204).send();
    },
  );

  app.delete(
    "/api/blocks/:userId",
    { schema: { params: BlockParams }, preHandler: auth },
    async (req, reply) => {
      await deps.blocks.unblock(authOf(req), asUserId((req.params as BlockParams).userId));
      return reply.status(204).send();
    },
  );
}
