import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/** One operator allowlist entry: an address range, or a host name, each optionally limited to one port. */
export type AllowEntry =
  | { kind: "cidr"; net: ipaddr.IPv4 | ipaddr.IPv6; bits: number; port: number | null }
  | { kind: "name"; name: string; port: number | null };

/**
 * Parses SKYFERRY_OUTBOUND_ALLOW entries: `10.0.0.0/8`, `127.0.0.1:7480`, `[::1]:10000`,
 * `[fd00::/8]:443`, `rgw:7480`, `azurite`. A name entry allows that exact host name (as written in
 * the URL, case-insensitive) without an address check: the operator vouches for the name.
 * @throws Error naming every bad entry at once (a bad config fails at startup, not per request).
 */
export function parseAllowlist(entries: readonly string[]): AllowEntry[] {
  const out: AllowEntry[] = [];
  const bad: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const parsed = parseEntry(entry);
    if (parsed) out.push(parsed);
    else bad.push(entry);
  }
  if (bad.length) throw new Error(`Invalid outbound allowlist entries (use CIDR, IP, IP:port, [IPv6]:port or host:port): ${bad.map((b) => `'${b}'`).join(", ")}`);
  return out;
}

function parseEntry(entry: string): AllowEntry | null {
  let host = entry;
  let port: number | null = null;
  const bracket = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry);
  if (bracket) {
    host = bracket[1]!;
    port = bracket[2] ? Number(bracket[2]) : null;
  } else if (isIP(entry) !== 6 && !ipaddr.IPv6.isValidCIDR(entry)) {
    const m = /^(.*):(\d{1,5})$/.exec(entry);
    if (m) {
      host = m[1]!;
      port = Number(m[2]);
    }
  }
  if (port !== null && (port < 1 || port > 65535)) return null;
  if (ipaddr.isValidCIDR(host)) {
    const [net, bits] = ipaddr.parseCIDR(host);
    return { kind: "cidr", net, bits, port };
  }
  if (isIP(host)) {
    const net = ipaddr.parse(host);
    return { kind: "cidr", net, bits: net.kind() === "ipv4" ? 32 : 128, port };
  }
  if (/^[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*$/i.test(host)) return { kind: "name", name: host.toLowerCase(), port };
  return null;
}
