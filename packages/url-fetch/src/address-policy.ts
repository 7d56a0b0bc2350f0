import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { forbidden } from "./errors.ts";

export interface AddressPolicy {
  /** Allow every address (development, tests). */
  allowPrivate: boolean;
  /** CIDRs allowed even though they are not public (e.g. an institution's data server), like Galaxy's `fetch_url_allowlist`. */
  allowlist?: readonly string[];
}

/**
 * Why an address may not be fetched, or null when it may. Only globally routable unicast is
 * allowed: loopback, private, link-local, unique-local, multicast, unspecified, CGNAT, reserved
 * and documentation ranges are refused, and IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is judged as
 * the IPv4 address it carries. Ranges come from ipaddr.js.
 */
export function refusal(address: string, policy: AddressPolicy): string | null {
  if (policy.allowPrivate) return null;
  if (!ipaddr.isValid(address)) return `'${address}' is not an IP address`;
  const ip = ipaddr.process(address);
  for (const cidr of policy.allowlist ?? []) {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    if (net.kind() === ip.kind() && ip.match(net, bits)) return null;
  }
  const range = ip.range();
  return range === "unicast" ? null : `the address ${ip.toString()} is ${range}`;
}

/** Validates allowlist entries once, so a bad config fails at startup rather than per request. */
export function checkAllowlist(allowlist: readonly string[]): void {
  for (const cidr of allowlist) if (!ipaddr.isValidCIDR(cidr)) throw new Error(`Invalid CIDR in the URL allowlist: '${cidr}'.`);
}

/** Throws URL_FORBIDDEN when `host` is an IP literal the policy refuses (names are checked at connect time). */
export function checkLiteralHost(host: string, policy: AddressPolicy): void {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (isIP(bare) === 0) return;
  const why = refusal(bare, policy);
  if (why) throw forbidden(why);
}
