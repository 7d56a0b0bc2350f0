import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { forbidden, invalidField } from "@skyferry/errors";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { authenticated, credentialsOf } from "./auth.ts";

/** The header every state-changing, cookie-authenticated request carries (value from `GET /api/csrf`). */
export const CSRF_HEADER = "x-csrf-token";
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The CSRF token of a session: SHA-256 of the session id under a domain-separation prefix.
 * Only someone who holds the (httpOnly, 256-bit) session cookie can compute it, it changes with
 * every sign-in, needs no server state and no shared secret between gateway replicas, and it
 * reveals nothing about the session id (nor equals the hash authz stores).
 */
export function csrfTokenFor(sessionId: string): string {
  return createHash("sha256").update("skyferry.csrf.v1\0", "utf8").update(sessionId, "utf8").digest("base64url");
}

export interface CsrfOptions {
  /** SKYFERRY_PUBLIC_URL; an `Origin` header must name it or the request's own host. */
  publicUrl: string;
}

const CsrfResponse = Type.Object({ csrf_token: Type.String({ description: `send it as the \`${CSRF_HEADER}\` header on every POST, PUT, PATCH and DELETE` }) });

/**
 * CSRF protection for requests authenticated by the session cookie (the console's). API-key
 * requests (`?key=`, `x-api-key`) are scripts and need no token: a browser never attaches a key
 * by itself. Runs on request, before the body is read, so a forged upload is refused unread.
 * Must be registered after @fastify/cookie and before the route groups.
 */
export async function registerCsrf(app: FastifyInstance, opts: CsrfOptions): Promise<void> {
  const publicOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : "";

  app.addHook("onRequest", async (req) => {
    if (!UNSAFE_METHODS.has(req.method)) return;
    // Same precedence as authentication: a key wins over the cookie.
    const { session_id } = credentialsOf(req);
    if (session_id === undefined) return;
    checkOrigin(req, publicOrigin);
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== "string" || sent === "") {
      throw forbidden("CSRF_TOKEN_MISSING", `This request is authenticated by the session cookie and needs the ${CSRF_HEADER} header (get the token from GET /api/csrf).`);
    }
    if (!sameText(sent, csrfTokenFor(session_id))) {
      throw forbidden("CSRF_TOKEN_INVALID", `The ${CSRF_HEADER} header does not match this session; get the current token from GET /api/csrf.`);
    }
  });

  await app.register(authenticated(csrfTokenRoute));
}

/** `GET /api/csrf`: the token of the caller's session. */
const csrfTokenRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/api/csrf",
    {
      schema: {
        summary: `The session's CSRF token: cookie-authenticated POST, PUT, PATCH and DELETE requests send it as \`${CSRF_HEADER}\``,
        response: { 200: CsrfResponse },
      },
    },
    async (req, reply) => {
      const { session_id } = credentialsOf(req);
      if (req.actor.via !== "session" || session_id === undefined) {
        throw invalidField("session", "A CSRF token belongs to a session: call this with the session cookie only (API key requests need no token).");
      }
      void reply.header("cache-control", "no-store");
      return { csrf_token: csrfTokenFor(session_id) };
    },
  );
};

/** A browser names the page's origin on cross-origin and same-origin writes alike; it must be ours. */
function checkOrigin(req: FastifyRequest, publicOrigin: string): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = "";
  }
  const ours = (publicOrigin !== "" && origin === publicOrigin) || (host !== "" && host === req.host);
  if (!ours) throw forbidden("CSRF_ORIGIN_MISMATCH", `Cross-origin request refused: Origin ${JSON.stringify(origin.slice(0, 200))} is not this site.`);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
