import type { Bus } from "@skyferry/bus";
import { type Actor, AuthzResolveActor } from "@skyferry/contracts";
import { unauthorized } from "@skyferry/errors";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** The session cookie set at sign-in; it authenticates the console and API calls alike. */
export const SESSION_COOKIE = "skyferry_session";

export interface AuthenticatedActor extends Actor {
  email: string;
  via: "api_key" | "session";
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by `app.authenticate`; null on routes that do not require it. */
    actor: AuthenticatedActor | null;
  }
  interface FastifyInstance {
    /** preHandler: resolves `?key=`, `x-api-key`, or the session cookie to a user, or answers 401. */
    authenticate: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

export interface AuthOptions {
  bus: Bus;
  timeoutMs: number;
}

/** Reads the caller's credentials: API key (query or header) first, then the session cookie. */
export function credentialsOf(req: FastifyRequest): { api_key?: string; session_id?: string } {
  const query = req.query as Record<string, unknown> | undefined;
  const fromQuery = typeof query?.key === "string" ? query.key : undefined;
  const header = req.headers["x-api-key"];
  const fromHeader = typeof header === "string" ? header : undefined;
  const apiKey = fromQuery ?? fromHeader;
  if (apiKey) return { api_key: apiKey };
  const cookies = (req as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies;
  const session = cookies?.[SESSION_COOKIE];
  return session ? { session_id: session } : {};
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest("actor", null);
  app.decorate("authenticate", async (req: FastifyRequest) => {
    const creds = credentialsOf(req);
    if (!creds.api_key && !creds.session_id) {
      throw unauthorized("AUTH_REQUIRED", "API authentication required for this request.");
    }
    const resolved = await options.bus.request(AuthzResolveActor, creds, { timeoutMs: options.timeoutMs });
    req.actor = { user_id: resolved.user_id, email: resolved.email, via: resolved.via, request_id: req.id };
  });
}
