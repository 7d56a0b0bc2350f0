import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { type Actor, AuthzApiKeyCreate, AuthzApiKeyDelete, AuthzApiKeyDescribe, AuthzUserGet, isId, UserView } from "@skyferry/contracts";
import { malformedId, notFound } from "@skyferry/errors";
import type { FastifyRequest } from "fastify";
import { actorOf } from "../plugins/auth.ts";
import { KeyQuery } from "./query.ts";

export interface UserRouteOptions {
  bus: Bus;
  timeoutMs: number;
}

const UserParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: "a user id, or `current`" }) });
const ApiKeyDetailed = Type.Object({ key: Type.String(), create_time: Type.String() });

/** `GET /api/users/current` and Galaxy's API key routes under `/api/users/{id|current}/api_key`. Register inside `authenticated(...)`. */
export const userRoutes: FastifyPluginAsyncTypebox<UserRouteOptions> = async (app, opts) => {
  const { bus, timeoutMs } = opts;

  app.get("/api/users/current", { schema: { summary: "The caller", querystring: KeyQuery, response: { 200: UserView } } }, async (req) =>
    bus.request(AuthzUserGet, { actor: actorOf(req) }, { timeoutMs }),
  );

  // GET never mutates (issue 19): it shows whether a key exists (masked, as /detailed); POST makes one.
  app.get(
    "/api/users/:id/api_key",
    { schema: { summary: "Whether the user has an API key: the key masked and its creation time; 204 when none (POST creates one)", params: UserParams, querystring: KeyQuery, response: { 200: ApiKeyDetailed, 204: Type.Null() } } },
    async (req, reply) => {
      const res = await bus.request(AuthzApiKeyDescribe, { actor: actorFor(req) }, { timeoutMs });
      if (!res) return reply.code(204).send(null);
      return res;
    },
  );

  app.post(
    "/api/users/:id/api_key",
    { schema: { summary: "A new API key; the previous one stops working", params: UserParams, querystring: KeyQuery } },
    async (req, reply) => {
      const actor = actorFor(req);
      const res = await bus.request(AuthzApiKeyCreate, { actor }, { timeoutMs });
      app.forgetCachedKeys(actor.user_id);
      return reply.header("cache-control", "no-store").type("application/json").send(JSON.stringify(res.key));
    },
  );

  app.delete(
    "/api/users/:id/api_key",
    { schema: { summary: "Revoke the user's API key", params: UserParams, querystring: KeyQuery } },
    async (req, reply) => {
      const actor = actorFor(req);
      await bus.request(AuthzApiKeyDelete, { actor }, { timeoutMs });
      app.forgetCachedKeys(actor.user_id);
      return reply.code(204).send();
    },
  );

  app.get(
    "/api/users/:id/api_key/detailed",
    { schema: { summary: "The current key (masked) and its creation time; 204 when none", params: UserParams, querystring: KeyQuery, response: { 200: ApiKeyDetailed, 204: Type.Null() } } },
    async (req, reply) => {
      const res = await bus.request(AuthzApiKeyDescribe, { actor: actorFor(req) }, { timeoutMs });
      if (!res) return reply.code(204).send(null);
      return res;
    },
  );
};

/**
 * The actor, after checking `{id}` (when the route has one) is `current` or the caller's own id
 * (another user's: 404). Checked here, not by the schema: `current` is not an id.
 */
function actorFor(req: FastifyRequest & { params: { id?: string } }): Actor {
  const { id } = req.params;
  if (id !== undefined && id !== "current") {
    if (!isId(id)) throw malformedId("id", id);
    if (id !== req.actor.user_id) throw notFound("USER_NOT_FOUND", "No such user.");
  }
  return actorOf(req);
}
