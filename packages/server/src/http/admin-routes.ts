import type { Server } from "node:http";
import { Readable } from "node:stream";
import {
  type AccountDeletedResponse,
  AdminAuditQuery,
  type AdminAuditResponse,
  AdminBlockParams,
  AdminBlockRequest,
  type AdminBlocksResponse,
  AdminInviteParams,
  type AdminInvitesResponse,
  AdminRoleRequest,
  AdminRoomParams,
  AdminRoomsQuery,
  type AdminRoomsResponse,
  type AdminSettingsResponse,
  type AdminStatsResponse,
  AdminUserParams,
  type AdminUsersResponse,
  CreateInviteRequest,
  type CreateInviteResponse,
  type ResetCodeResponse,
  type SignOutResponse,
} from "@parley/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type AdminActor, AdminService } from "../admin/admin-service.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { Bus } from "../bus/bus.js";
import type { AccountDeletion } from "../domain/account-deletion.js";
import type { AccountService } from "../domain/accounts.js";
import { ParleyError } from "../domain/errors.js";
import { asUserId } from "../domain/ids.js";
import { consumeOrRefuse, type LimiterFactory } from "../domain/limiters.js";
import type { LoginGuard } from "../domain/login-guard.js";
import type { RecoveryService } from "../domain/recovery.js";
import type { RoomService } from "../domain/rooms.js";
import type { TotpService } from "../domain/totp.js";
import { parseAddress } from "../lan/classify-address.js";
import type { LiveFigures } from "../ops/live-figures.js";
import type { Storage } from "../storage/storage.js";
import { authOf } from "./auth-hook.js";
import { clientOf } from "./recovery-routes.js";

export interface AdminRouteDeps {
  accounts: AccountService;
  /** ACCT-3: account deletion, shared with DELETE /api/me. */
  deletion: AccountDeletion;
  rooms: RoomService;
  storage: Storage;
  guard: LoginGuard;
  /** The Bearer check every authenticated route uses; it sets `req.auth`. */
  requireAuth: (req: FastifyRequest) => Promise<void>;
  auditLog: AuditLog;
  recovery: RecoveryService;
  totp: TotpService;
  limiters: LimiterFactory;
  /** PARLEY_ADMIN_RATE: requests per admin per minute. */
  ratePerMin: number;
  bus: Pick<Bus, "onlineUserIds">;
  figures: Pick<LiveFigures, "messagesPerMinute" | "failedLoginsPerHour" | "connections">;
  /** The effective settings, secrets redacted. */
  settings: () => Record<string, string | number | boolean | null>;
}

/** AUDIT-3: the most entries one export holds. */
export const AUDIT_EXPORT_MAX = 100_000;

/**
 * `/api/admin/*` (PROTOCOL.md AUTH-10): invite codes, accounts, IP blocks, room deletion. The token and the
 * admin check run in `onRequest`, before the body is read, so someone who is not an admin gets
 * `admin_required` and nothing else, whatever they send.
 */
export async function registerAdminRoutes(app: FastifyInstance<Server>, deps: AdminRouteDeps): Promise<void> {
  const service = new AdminService({
    accounts: deps.accounts,
    deletion: deps.deletion,
    rooms: deps.rooms,
    storage: deps.storage,
    guard: deps.guard,
    audit: (event) => deps.auditLog.record(event),
    auditLog: deps.auditLog,
    recovery: deps.recovery,
    totp: deps.totp,
    bus: deps.bus,
    figures: deps.figures,
    settings: deps.settings,
  });
  const rate = deps.limiters({ keyPrefix: "http_admin", points: deps.ratePerMin, duration: 60 });
  const actors = new WeakMap<FastifyRequest, AdminActor>();
  const actorOf = (req: FastifyRequest): AdminActor => {
    const actor = actors.get(req);
    if (!actor) throw new ParleyError("admin_required");
    return actor;
  };

  await app.register(
    async (admin) => {
      admin.addHook("onRequest", async (req: FastifyRequest) => {
        await deps.requireAuth(req);
        const actor = await service.requireAdmin(authOf(req).userId, clientOf(req));
        await consumeOrRefuse(rate, actor.id);
        actors.set(req, actor);
      });

      admin.get(
        "/audit",
        { schema: { querystring: AdminAuditQuery } },
        async (req): Promise<AdminAuditResponse> =>
          service.auditPage(actorOf(req), req.query as AdminAuditQuery),
      );

      // AUDIT-3: JSON lines, one entry each, newest first; streamed, so memory stays flat.
      admin.get("/audit/export", { schema: { querystring: AdminAuditQuery } }, async (req, reply) => {
        const entries = service.auditExport(actorOf(req), req.query as AdminAuditQuery, AUDIT_EXPORT_MAX);
        // Validate before the first byte: a bad filter must still get its error code.
        const first = await entries.next();
        async function* lines() {
          if (first.done) return;
          yield `${JSON.stringify(first.value)}\n`;
          for await (const entry of entries) yield `${JSON.stringify(entry)}\n`;
        }
        return reply
          .type("application/x-ndjson; charset=utf-8")
          .header("Content-Disposition", 'attachment; filename="parley-audit.jsonl"')
          .send(Readable.from(lines()));
      });

      admin.post("/invites", { schema: { body: CreateInviteRequest } }, async (req, reply) => {
        const body = req.body as CreateInviteRequest;
        const invite: CreateInviteResponse = await service.createInvite(
          actorOf(req),
          body.ttlHours,
          body.maxUses,
        );
        return reply.status(201).send(invite);
      });

      admin.get("/invites", async (req): Promise<AdminInvitesResponse> => {
        return { invites: await service.listInvites(actorOf(req)) };
      });

      admin.delete("/invites/:inviteId", { schema: { params: AdminInviteParams } }, async (req, reply) => {
        const { inviteId } = req.params as AdminInviteParams;
        await service.revokeInvite(actorOf(req), inviteId);
        return reply.status(204).send();
      });

      admin.get(
        "/rooms",
        { schema: { querystring: AdminRoomsQuery } },
        async (req): Promise<AdminRoomsResponse> =>
          service.listRooms(actorOf(req), req.query as AdminRoomsQuery),
      );

      admin.get("/stats", async (req): Promise<AdminStatsResponse> => service.stats(actorOf(req)));

      admin.get(
        "/settings",
        async (req): Promise<AdminSettingsResponse> => ({ settings: service.settings(actorOf(req)) }),
      );

      admin.post(
        "/users/:userId/role",
        { schema: { params: AdminUserParams, body: AdminRoleRequest } },
        async (req, reply) => {
          const { userId } = req.params as AdminUserParams;
          await service.setRole(actorOf(req), asUserId(userId), (req.body as AdminRoleRequest).admin);
          return reply.status(204).send();
        },
      );

      admin.get("/users", async (req): Promise<AdminUsersResponse> => {
        return { users: await service.listUsers(actorOf(req)) };
      });

      const setDisabled = (disabled: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
        const { userId } = req.params as AdminUserParams;
        await service.setDisabled(actorOf(req), asUserId(userId), disabled);
        return reply.status(204).send();
      };
      admin.post("/users/:userId/disable", { schema: { params: AdminUserParams } }, setDisabled(true));
      admin.post("/users/:userId/enable", { schema: { params: AdminUserParams } }, setDisabled(false));

      // ACCT-3: an admin deletes an account as its owner could, without its password.
      admin.delete("/users/:userId", { schema: { params: AdminUserParams } }, async (req) => {
        const { userId } = req.params as AdminUserParams;
        const deleted: AccountDeletedResponse["deleted"] = await service.deleteUser(
          actorOf(req),
          asUserId(userId),
        );
        return { deleted } satisfies AccountDeletedResponse;
      });

      // ACCT-2: every session of the account ends, its sockets close; it may sign in again.
      admin.post("/users/:userId/sign-out", { schema: { params: AdminUserParams } }, async (req) => {
        const { userId } = req.params as AdminUserParams;
        return { sessions: await service.signOut(actorOf(req), asUserId(userId)) } satisfies SignOutResponse;
      });

      // AUTH-16: for someone who lost both authenticator and recovery codes; sessions end.
      admin.delete("/users/:userId/totp", { schema: { params: AdminUserParams } }, async (req) => {
        const { userId } = req.params as AdminUserParams;
        return {
          sessions: await service.clearTotp(actorOf(req), asUserId(userId)),
        } satisfies SignOutResponse;
      });

      // AUTH-11: the code is in this answer only.
      admin.post("/users/:userId/reset-code", { schema: { params: AdminUserParams } }, async (req, reply) => {
        const { userId } = req.params as AdminUserParams;
        const code: ResetCodeResponse = await service.issueResetCode(actorOf(req), asUserId(userId));
        return reply.status(201).send(code);
      });

      admin.delete("/rooms/:roomId", { schema: { params: AdminRoomParams } }, async (req, reply) => {
        const { roomId } = req.params as AdminRoomParams;
        await service.deleteRoom(actorOf(req), roomId);
        return reply.status(204).send();
      });

      admin.get("/blocks", async (req): Promise<AdminBlocksResponse> => {
        return { blocks: await service.listBlocks(actorOf(req)) };
      });

      admin.post("/blocks", { schema: { body: AdminBlockRequest } }, async (req, reply) => {
        const body = req.body as AdminBlockRequest;
        const ip = await service.block(actorOf(req), body.ip, body.minutes, body.note);
        return reply.status(201).send({ ip });
      });

      admin.delete("/blocks/:ip", { schema: { params: AdminBlockParams } }, async (req, reply) => {
        const { ip } = req.params as AdminBlockParams;
        if (parseAddress(ip) === undefined) throw new ParleyError("validation_failed", { details: ["/ip"] });
        await service.unblock(actorOf(req), ip);
        return reply.status(204).send();
      });
    },
    { prefix: "/api/admin" },
  );
}
