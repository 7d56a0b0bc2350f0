import ipaddr from "ipaddr.js";
import { type AllowEntry, parseAllowlist } from "./allowlist.ts";

/** The operator's settings: SKYFERRY_OUTBOUND_ALLOW entries (see allowlist.ts). */
export interface OutboundPolicyOptions {
  /** Destinations allowed although not public: CIDR, IP, IP:port, [IPv6]:port, host, host:port. */
  allow?: readonly string[];
  /** Allow every address (development only; e.g. HISTORY_ALLOW_PRIVATE_URLS). Default false. */
  allowPrivate?: boolean;
}

/**
 * The one outbound-address policy for every user-supplied destination (cloud storage endpoints,
 * Azure's authority host, URL uploads). Only globally routable unicast is allowed: loopback,
 * private, link-local, unique-local, multicast, unspecified, CGNAT, reserved, documentation, 6to4,
 * Teredo and NAT64 ranges are refused (ranges from ipaddr.js), IPv4-mapped IPv6 is judged as the
 * IPv4 address it carries, and the operator's allowlist opens exceptions.
 */
export interface OutboundPolicy {
  /** Why a connection to `address:port` is refused, or null when it is allowed. */
  addressRefusal(address: string, port: number): string | null;
  /** Whether the operator allowlisted this host name (and port) itself: its addresses are then not checked. */
  nameAllowed(hostname: string, port: number): boolean;
}

export function createOutboundPolicy(options: OutboundPolicyOptions = {}): OutboundPolicy {
  const entries: AllowEntry[] = parseAllowlist(options.allow ?? []);
  const portOk = (e: AllowEntry, port: number) => e.port === null || e.port === port;
  return {
    addressRefusal(address, port) {
      if (options.allowPrivate) return null;
      if (!ipaddr.isValid(address)) return `'${address.slice(0, 64)}' is not an IP address`;
      const ip = ipaddr.process(address);
      for (const e of entries) if (e.kind === "cidr" && e.net.kind() === ip.kind() && ip.match(e.net, e.bits) && portOk(e, port)) return null;
      const range = ip.range();
      return range === "unicast" ? null : `the address ${ip.toString()} is ${range}`;
    },
    nameAllowed(hostname, port) {
      const name = hostname.toLowerCase().replace(/\.$/, "");
      return entries.some((e) => e.kind === "name" && e.name === name && portOk(e, port));
    },
  };
}
