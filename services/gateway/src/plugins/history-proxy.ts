import replyFrom from "@fastify/reply-from";
import { SkyferryError, GalaxyCode } from "@skyferry/errors";
import type { IncomingMessage } from "node:http";
import { PassThrough, type Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Headers the history service trusts only from the gateway (see services/history/src/http/internal-auth.ts). */
export const TOKEN_HEADER = "x-skyferry-internal-token";
export const USER_HEADER = "x-skyferry-user-id";
export const REQUEST_ID_HEADER = "x-skyferry-request-id";
/** Request headers worth passing on; everything else (cookies, API keys, hop-by-hop) stays here. */
const FORWARDED = ["content-type", "content-length", "range", "if-range", "accept", "user-agent"];

declare module "fastify" {
  interface FastifyInstance {
    /** Streams the authenticated request to the history service's internal `path` (query included) and its answer back. */
    proxyToHistory: (req: FastifyRequest, reply: FastifyReply, path: string) => FastifyReply;
  }
}

/**
 * The body handed to the proxy for a streamed upload. The proxy destroys the body it was given
 * when the history service answers early (a 413 mid-upload); given the client's request itself,
 * that would reset the client's connection before the answer reached it. A client that goes away
 * mid-upload still ends the upstream request, with an error.
 */
export function detachedBody(req: IncomingMessage): Readable {
  const body = new PassThrough({ highWaterMark: 64 * 1024 });
  const gone = () => {
    if (!req.complete) body.destroy(new Error("client disconnected mid-upload"));
  };
  req.once("aborted", gone);
  req.once("close", gone);
  req.once("error", (err) => body.destroy(err));
  req.pipe(body);
  return body;
}

const notConfigured = () =>
  new SkyferryError("GATEWAY_HISTORY_PROXY_UNCONFIGURED", "Uploads and downloads are not configured on this gateway (SKYFERRY_INTERNAL_TOKEN).", {
    status: 503,
    errCode: GalaxyCode.unavailable,
  });

/**
 * Upload and display bytes go over HTTP, never NATS: the gateway authenticates the caller, then
 * streams the request body to the history service and its response back (backpressure on both
 * legs, nothing buffered), naming the user in headers authenticated by the shared internal token.
 */
export async function registerHistoryProxy(app: FastifyInstance, opts: { historyUrl: string; token: string }): Promise<void> {
  await app.register(replyFrom, {
    base: opts.historyUrl,
    // Uploads and downloads of many GB: no overall timeout, only the undici idle timeouts.
    // pipelining 1 is keep-alive without pipelining; 0 would send `connection: close` on every
    // request, a new connection per upload, and make the history service hang up after answering.
    undici: { headersTimeout: 0, bodyTimeout: 300_000, connections: 128, pipelining: 1 },
  });
  app.decorate("proxyToHistory", function proxyToHistory(req: FastifyRequest, reply: FastifyReply, path: string): FastifyReply {
    if (!opts.token) throw notConfigured();
    return reply.from(path, {
      // Only the query `path` carries: the caller's `?key=` and anything else stay here.
      queryString: (search) => (search ?? "").replace(/^\?/, ""),
      rewriteRequestHeaders: (_req, headers) => {
        const out: Record<string, string | string[]> = {};
        for (const name of FORWARDED) {
          const v = headers[name];
          if (v !== undefined) out[name] = v as string | string[];
        }
        out[TOKEN_HEADER] = opts.token;
        out[USER_HEADER] = req.actor.user_id;
        out[REQUEST_ID_HEADER] = String(req.id);
        return out;
      },
      onError: (r, { error }) => {
        req.log.warn({ err: error }, "history service request failed");
        // A client that hung up mid-upload needs no answer.
        if (r.raw.destroyed) return;
        void r.send(new SkyferryError("GATEWAY_HISTORY_UNAVAILABLE", "The history service is unavailable; try again shortly.", { status: 503, errCode: GalaxyCode.unavailable, cause: error }));
      },
    });
  });
}
