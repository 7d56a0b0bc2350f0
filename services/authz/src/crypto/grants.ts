import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { unauthorized } from "@skyferry/errors";

/**
 * Job grants (docs/trust.md, "Workers"): when a send or a get is planned, authz signs
 * `{user_id, authz_id, exp}` once for the request; the planner stores the grant on each of its
 * jobs, and a worker's credentials for a job are issued against it, long after the request's actor
 * assertion expired. HMAC-SHA256 with a key derived (HKDF) from authz's own encryption key; the
 * key id travels in the grant so that keys rotate like sealed secrets do. Only authz can make or
 * check one. Format: `g1.<kid>.<base64url(JSON claims)>.<base64url(mac)>`.
 */
export interface Grants {
  issue(userId: string, authzId: string): string;
  /** The grant's user and authorization; throws AUTHZ_GRANT_INVALID / AUTHZ_GRANT_EXPIRED (401). */
  verify(grant: string): { user_id: string; authz_id: string };
}

/** How long a grant lasts: a job may be queued, retried or resumed for this long. */
export const GRANT_TTL_SECONDS = 30 * 24 * 3600;

const grantInvalid = () => unauthorized("AUTHZ_GRANT_INVALID", "The job's grant is not valid.");
const grantExpired = () => unauthorized("AUTHZ_GRANT_EXPIRED", "The job's grant has expired; send the datasets again.");

export function createGrants(options: { keys: Record<string, string>; current: string; now: () => Date; ttlSeconds?: number }): Grants {
  const macKeys = new Map<string, Buffer>();
  for (const [kid, raw] of Object.entries(options.keys)) {
    const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64");
    // A key of its own for grants: the encryption key itself is never used as a MAC key.
    macKeys.set(kid, Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), "skyferry job grant v1", 32)));
  }
  if (!macKeys.has(options.current)) throw new Error(`current encryption key id '${options.current}' is not among the configured keys`);
  const ttl = options.ttlSeconds ?? GRANT_TTL_SECONDS;
  const mac = (key: Buffer, signed: string) => createHmac("sha256", key).update(signed).digest();
  return {
    issue(userId, authzId) {
      const exp = Math.floor(options.now().getTime() / 1000) + ttl;
      const signed = `g1.${options.current}.${Buffer.from(JSON.stringify({ u: userId, a: authzId, exp })).toString("base64url")}`;
      return `${signed}.${mac(macKeys.get(options.current)!, signed).toString("base64url")}`;
    },
    verify(grant) {
      const parts = grant.split(".");
      if (parts.length !== 4 || parts[0] !== "g1") throw grantInvalid();
      const [, kid, body, tag] = parts as [string, string, string, string];
      const key = macKeys.get(kid);
      if (!key) throw grantInvalid();
      const expected = mac(key, `g1.${kid}.${body}`);
      const given = Buffer.from(tag, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw grantInvalid();
      let claims: { u?: unknown; a?: unknown; exp?: unknown };
      try {
        claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as typeof claims;
      } catch {
        throw grantInvalid();
      }
      if (typeof claims.u !== "string" || typeof claims.a !== "string" || typeof claims.exp !== "number") throw grantInvalid();
      if (claims.exp * 1000 <= options.now().getTime()) throw grantExpired();
      return { user_id: claims.u, authz_id: claims.a };
    },
  };
}
