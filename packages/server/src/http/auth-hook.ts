import type { FastifyRequest } from "fastify";
import type { AccountService, AuthContext } from "../domain/accounts.js";
import { ParleyError } from "../domain/errors.js";

declare module "fastify" {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

/** `Authorization: Bearer <access token>`; the token is never accepted from a URL or a cookie. */
export function requireAuth(accounts: AccountService, onFailure: (code: string) => void = () => {}) {
  return async (req: FastifyRequest): Promise<void> => {
    try {
      const header = req.headers.authorization;
      const match = typeof header === "string" ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
      if (!match?.[1]) throw new ParleyError("token_invalid");
      req.auth = await accounts.authenticate(match[1], req.ip);
    } catch (e) {
      if (e instanceof ParleyError) onFailure(e.code);
      throw e;
    }
  };
}

export function authOf(req: FastifyRequest): AuthContext {
  if (!req.auth) throw new ParleyError("token_invalid");
  return req.auth;
}
