import type { Server } from "node:http";
import {
  AdminBlockParams,
  type AdminBlocksResponse,
  AdminRoomParams,
  AdminUserParams,
  type AdminUsersResponse,
  CreateInviteRequest,
  type CreateInviteResponse,
} from "@parley/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { type AdminActor, AdminService } from "../admin/admin-service.js";
import type { AccountService } from "../domain/accounts.js";
import { ParleyError } from "../domain/errors.js";
import { asUserId } from "../domain/ids.js";
import type { LoginGuard } from "../domain/login-guard.js";
import type { RoomService } from "../domain/rooms.js";
import { parseAddress } from "../lan/classify-address.js";
import type { Storage } from "../storage/storage.js";
import { authOf } from "./auth-hook.js";

export interface AdminRouteDeps {
  accounts: AccountService;
  rooms: RoomService;
  storage: Storage;
  guard: LoginGuard;
  /** The Bearer check every authenticated route uses; it sets `req.auth`. */
  requireAuth: (req: FastifyRequest) => Promise<void>;
  log: Logger;
}

/**
 * `/api/admin/*` (PROTOCOL.md AUTH-10): invite codes, accounts, IP blocks, room deletion. The token and the
 * admin check run in `onRequest`, before the body is read, so someone who is not an admin gets
 * `admin_required` and nothing else, whatever they send.
 */
export async function registerAdminRoutes(app: FastifyInstance<Server>, deps: AdminRouteDeps): Promise<void> {
  const audit = deps.log.child({ component: "audit" });
  const service = new AdminService({
    accounts: deps.accounts,
    rooms: deps.rooms,
    storage: deps.storage,
    guard: deps.guard,
    audit: (event) => audit.info(event, event.event),
  });
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
        actors.set(req, await service.requireAdmin(authOf(req).userId));
      });

      admin.post("/invites", { schema: { body: CreateInviteRequest } }, async (req, reply) => {
        const body = req.body as CreateInviteRequest;
        const invite: CreateInviteResponse = await service.createInvite(actorOf(req), body.ttlHours);
        return reply.status(201).send(invite);
      });

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

      admin.delete("/rooms/:roomId", { schema: { params: AdminRoomParams } }, async (req, reply) => {
        const { roomId } = req.params as AdminRoomParams;
        await service.deleteRoom(actorOf(req), roomId);
        return reply.status(204).send();
      });

      admin.get("/blocks", async (req): Promise<AdminBlocksResponse> => {
        return { blocks: await service.listBlocks(actorOf(req)) };
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
