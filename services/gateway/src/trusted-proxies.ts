import { isIP } from "node:net";
import { ConfigError } from "@skyferry/config";

/**
 * Fastify's `trustProxy`: `false` trusts no proxy; a function trusts the first `n` hops; a list
 * names the proxies (addresses, CIDR ranges, or proxy-addr's `loopback`, `linklocal`, `uniquelocal`).
 */
export type TrustProxy = false | ((address: string, hop: number) => boolean) | string[];

/** proxy-addr's (Fastify's) names for ranges: 127/8 + ::1; 169.254/16 + fe80::/10; 10/8, 172.16/12, 192.168/16 + fc00::/7. */
const NAMED_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);

/**
 * Reads SKYFERRY_TRUSTED_PROXIES: empty = trust no proxy (X-Forwarded-* ignored, the peer is the
 * client); an integer = that many hops in front of the gateway are proxies; otherwise a
 * comma-separated list of IPs / CIDRs whose X-Forwarded-* headers are believed. Throws a
 * ConfigError naming every bad entry.
 *
 * A hop count is a function, not Fastify's number form: since Fastify 5.x (5.12) a number trusts
 * X-Forwarded-Proto/-Host from nobody and the client address from everybody's X-Forwarded-For
 * hops, so the hop count must be spelled out as proxy-addr's `i < n`.
 */
export function trustedProxies(value: string): TrustProxy {
  const text = value.trim();
  if (text === "") return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops === 0) return false;
    return (_address, hop) => hop < hops;
  }
  const entries = text.split(",").map((e) => e.trim()).filter((e) => e !== "");
  const bad = entries.filter((e) => !isAddressOrRange(e));
  if (bad.length > 0) {
    throw new ConfigError(
      bad.map((e) => `SKYFERRY_TRUSTED_PROXIES: ${JSON.stringify(e)} is not an IP address, a CIDR range (e.g. 10.0.0.0/8, fd00::/8) or one of loopback, linklocal, uniquelocal`),
    );
  }
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
