import { createHash, timingSafeEqual } from "node:crypto";
import type { Actor } from "@skyferry/contracts";
import { isId } from "@skyferry/contracts";
import { internal } from "@skyferry/errors";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { internalAuthFailed } from "../errors.ts";

/** Headers the gateway adds to every request it proxies here (and strips from clients). */
export const INTERNAL_TOKEN_HEADER = "x-skyferry-internal-token";
export const ACTOR_HEADER = "x-skyferry-user-id";
export const REQUEST_ID_HEADER = "x-skyferry-request-id";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The user the gateway authenticated, on every route behind the `internalAuth` hook: never
     * null there. Read on any other route it throws (a programming error, answered 500).
     */
    readonly internalActor: Actor;
  }
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Decorates requests with `internalActor` and returns the onRequest hook for the internal routes
 * that sets it: the shared token must match (constant time) and the gateway must name the user.
 * Anything else is 401 before a byte of the body is read.
 */
export function registerInternalAuth(app: FastifyInstance, token: string): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  // Kept beside the request, so the getter can refuse a route the hook did not run for instead of answering null.
  const actors = new WeakMap<FastifyRequest, Actor>();
  app.decorateRequest("internalActor", {
    getter(this: FastifyRequest): Actor {
      const actor = actors.get(this);
      if (!actor) throw internal("HIST_INTERNAL_ACTOR_UNSET", `${this.routeOptions.url ?? "this route"} reads the gateway's user but is not behind internalAuth.`);
      return actor;
    },
  });
  const expected = digest(token);
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const given = req.headers[INTERNAL_TOKEN_HEADER];
    if (typeof given !== "string" || !timingSafeEqual(digest(given), expected)) throw internalAuthFailed();
    const userId = req.headers[ACTOR_HEADER];
    if (typeof userId !== "string" || !isId(userId)) throw internalAuthFailed();
    const requestId = req.headers[REQUEST_ID_HEADER];
    actors.set(req, { user_id: userId, ...(typeof requestId === "string" ? { request_id: requestId.slice(0, 128) } : {}) });
  };
}
