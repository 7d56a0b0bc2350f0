import { createHash } from "node:crypto";
import type { ActorSigner } from "@skyferry/actor";
import type { Bus } from "@skyferry/bus";
import { type Actor, AuthzApiKeysRevoked, AuthzResolveActor } from "@skyferry/contracts";
import { internal, isSkyferryError, unauthorized } from "@skyferry/errors";
import type { FastifyInstance, FastifyPluginOptions, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { createKeyCache } from "../auth/key-cache.ts";

/** The session cookie set at sign-in; it authenticates the console and API calls alike. */
export const SESSION_COOKIE = "skyferry_session";

export interface AuthenticatedActor extends Actor {
  email: string;
  via: "api_key" | "session";
}

/** SHA-256 hex of a key or session id: what is sent to authz (docs/trust.md), never the secret itself. */
export function sha256Hex(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** The request's credentials as `authz.actor.resolve` takes them: hashed. */
export function hashedCredentials(creds: { api_key?: string; session_id?: string }): { api_key_sha256?: string; session_id_sha256?: string } {
  if (creds.api_key) return { api_key_sha256: sha256Hex(creds.api_key) };
  return creds.session_id ? { session_id_sha256: sha256Hex(creds.session_id) } : {};
}

/** The authenticated request's actor as the services get it: user, request id, and the gateway's signed assertion. */
export function actorOf(req: FastifyRequest): Actor {
  const a = req.actor;
  return { user_id: a.user_id, request_id: String(req.id), ...(a.assertion ? { assertion: a.assertion } : {}) };
}

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The caller, on every route registered inside `authenticated(...)`: never null there. Read
     * on any other route it throws (a programming error, answered 500) rather than return null.
     */
    readonly actor: AuthenticatedActor;
  }
  interface FastifyInstance {
    /** preHandler: resolves `?key=`, `x-api-key`, or the session cookie to a user, or answers 401. */
    authenticate: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** Forgets cached API keys of a user (this instance; other instances hear the revocation event). */
    forgetCachedKeys: (userId: string) => void;
  }
}

export interface AuthOptions {
  bus: Bus;
  /** Signs the actor assertion every request to a service carries (SKYFERRY_ACTOR_SIGNING_KEY_FILE). */
  signer: ActorSigner;
  timeoutMs: number;
  /** How long a resolved API key is cached, in ms (0: no cache). */
  keyCacheMs?: number;
}

/** Reads the caller's credentials: API key (query or header) first, then the session cookie. */
export function credentialsOf(req: FastifyRequest): { api_key?: string; session_id?: string } {
  // Any route's query, validated or not (CSRF reads credentials before validation).
  const query: unknown = req.query;
  const fromQuery = typeof query === "object" && query !== null && "key" in query && typeof query.key === "string" ? query.key : undefined;
  const header = req.headers["x-api-key"];
  const fromHeader = typeof header === "string" ? header : undefined;
  const apiKey = fromQuery ?? fromHeader;
  if (apiKey) return { api_key: apiKey };
  const cookies = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies;
  const session = cookies?.[SESSION_COOKIE];
  return session ? { session_id: session } : {};
}


export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const cache = createKeyCache({ ttlMs: options.keyCacheMs ?? 30_000 });
  const revocations = options.bus.on(AuthzApiKeysRevoked, AuthzApiKeysRevoked.pattern(options.bus.namespace), (data) => cache.dropUser(data.user_id));
  app.addHook("onClose", async () => revocations.unsubscribe());

  // The actor is kept beside the request, not on it: the `actor` getter can then refuse to answer
  // for a request that `authenticate` did not run for, instead of handing a handler a null.
  const actors = new WeakMap<FastifyRequest, AuthenticatedActor>();
  app.decorateRequest("actor", {
    getter(this: FastifyRequest): AuthenticatedActor {
      const actor = actors.get(this);
      if (!actor) throw internal("GATEWAY_ACTOR_UNSET", `${this.routeOptions.url ?? "this route"} reads the caller but is not registered inside authenticated(...).`);
      return actor;
    },
  });
  app.decorate("forgetCachedKeys", (userId: string) => cache.dropUser(userId));
  app.decorate("authenticate", async (req: FastifyRequest, reply: FastifyReply) => {
    const creds = credentialsOf(req);
    if (!creds.api_key && !creds.session_id) {
      throw unauthorized("AUTH_REQUIRED", "API authentication required for this request.");
    }
    const cached = creds.api_key ? cache.get(creds.api_key) : undefined;
    if (cached) {
      const assertion = await options.signer.sign({ user_id: cached.user_id, request_id: req.id });
      actors.set(req, { user_id: cached.user_id, email: cached.email, via: "api_key", request_id: req.id, assertion });
      return;
    }
    let resolved;
    try {
      // Credentials are resolved first, always: authz counts failures (per client address, as
      // Fastify's trustProxy determined it, and per credential, in MongoDB so replicas agree) and
      // answers 429 only for credentials that do not resolve. A longer credential than any we issue
      // is still sent (hashed), so it is counted like any other failure.
      resolved = await options.bus.request(AuthzResolveActor, { ...hashedCredentials(creds), client: req.ip.slice(0, 64) }, { timeoutMs: options.timeoutMs });
    } catch (err) {
      if (isSkyferryError(err) && err.code === "AUTH_RATE_LIMITED") {
        // authz's message carries the seconds left in the window ("try again in N s").
        const seconds = Number(/in (\d+) s\b/.exec(err.message)?.[1] ?? 60);
        void reply.header("retry-after", String(seconds));
      }
      throw err;
    }
    if (creds.api_key) cache.set(creds.api_key, { user_id: resolved.user_id, email: resolved.email });
    const assertion = await options.signer.sign({ user_id: resolved.user_id, request_id: req.id });
    actors.set(req, { user_id: resolved.user_id, email: resolved.email, via: resolved.via, request_id: req.id, assertion });
  });
}

/**
 * Wraps a route group whose every route needs a signed-in caller: each route registered inside
 * (nested scopes included) gets `app.authenticate` as its first preHandler, so no route can forget
 * it and `req.actor` is always set in its handlers. As a route's own preHandler, as before: it runs
 * after validation (a bad query is 400 before credentials are resolved), and the OpenAPI document
 * sees it (plugins/openapi.ts marks such operations as secured).
 */
export function authenticated<O extends FastifyPluginOptions>(routes: FastifyPluginAsyncTypebox<O>): FastifyPluginAsyncTypebox<O> {
  return async (app, opts) => {
    app.addHook("onRoute", (route: RouteOptions) => {
      const own = route.preHandler === undefined ? [] : [route.preHandler].flat();
      route.preHandler = [app.authenticate, ...own];
    });
    await routes(app, opts);
  };
}
