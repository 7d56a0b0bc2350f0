import { createHash, timingSafeEqual } from "node:crypto";
import type { Actor } from "@skyferry/contracts";
import type { FastifyReply, FastifyRequest } from "fastify";
import { internalAuthFailed } from "../errors.ts";
import { isId } from "../ids.ts";

/** Headers the gateway adds to every request it proxies here (and strips from clients). */
export const INTERNAL_TOKEN_HEADER = "x-skyferry-internal-token";
export const ACTOR_HEADER = "x-skyferry-user-id";
export const REQUEST_ID_HEADER = "x-skyferry-request-id";

declare module "fastify" {
  interface FastifyRequest {
    /** The user the gateway authenticated; set on the internal routes. */
    internalActor: Actor | null;
  }
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * onRequest hook for the internal routes: the shared token must match (constant time) and the
 * gateway must name the user. Anything else is 401 before a byte of the body is read.
 */
export function internalAuth(token: string) {
  const expected = digest(token);
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const given = req.headers[INTERNAL_TOKEN_HEADER];
    if (typeof given !== "string" || !timingSafeEqual(digest(given), expected)) throw internalAuthFailed();
    const userId = req.headers[ACTOR_HEADER];
    if (typeof userId !== "string" || !isId(userId)) throw internalAuthFailed();
    const requestId = req.headers[REQUEST_ID_HEADER];
    req.internalActor = { user_id: userId, ...(typeof requestId === "string" ? { request_id: requestId.slice(0, 128) } : {}) };
  };
}
