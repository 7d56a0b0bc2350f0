import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";
import { type FastifyInstance, LogController } from "fastify";
import type { TrustProxy } from "../trusted-proxies.ts";

/** What an `x-request-id` from a trusted proxy may look like; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Fastify's request-id options for the gateway: the id is the `x-request-id` a trusted proxy (the
 * peer, per SKYFERRY_TRUSTED_PROXIES) sent, when it is a plain token of at most 128 characters;
 * otherwise a new UUID, unique across replicas (Fastify's default `req-1` repeats). Logged as
 * `request_id`, signed into the actor assertion, so authz, history and transfer log it and jobs
 * record it (issue 22).
 */
export function requestIdOptions(trust: TrustProxy): { genReqId: (req: IncomingMessage) => string; logController: LogController } {
  const trusted = trustedPeer(trust);
  return {
    logController: new LogController({ requestIdLogLabel: "request_id" }),
    genReqId(req) {
      const given = req.headers["x-request-id"];
      const peer = req.socket?.remoteAddress;
      if (typeof given === "string" && REQUEST_ID.test(given) && trusted(peer)) return given;
      return randomUUID();
    },
  };
}

/**
 * Every answer carries `x-request-id`, and every error body (Galaxy's `{err_msg, err_code}`) its
 * `request_id` too, so a person reporting a failure can quote it and an operator find its log lines.
 */
export function registerRequestIds(app: FastifyInstance): void {
  app.addHook("onSend", async (req, reply, payload) => {
    reply.header("x-request-id", req.id);
    if (reply.statusCode < 400 || typeof payload !== "string" || !payload.startsWith("{") || !payload.includes('"err_code"')) return payload;
    const type = String(reply.getHeader("content-type") ?? "");
    if (!type.startsWith("application/json")) return payload;
    try {
      const body = JSON.parse(payload) as Record<string, unknown>;
      if (typeof body !== "object" || body === null || Array.isArray(body) || "request_id" in body) return payload;
      return JSON.stringify({ ...body, request_id: req.id });
    } catch {
      return payload;
    }
  });
}

/** Whether the peer at `address` is a trusted proxy (SKYFERRY_TRUSTED_PROXIES): its x-request-id and traceparent are believed. */
export function trustedPeer(trust: TrustProxy): (address: string | undefined) => boolean {
  if (trust === false) return () => false;
  const fn = typeof trust === "function" ? trust : proxyAddr.compile(trust);
  return (address) => address !== undefined && fn(address, 0);
}
