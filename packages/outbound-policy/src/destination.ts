import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { OutboundRefusedError } from "./errors.ts";
import type { OutboundPolicy } from "./policy.ts";

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

/** Host (brackets removed) and port a URL connects to. */
export function endpointOf(url: URL): { host: string; port: number } {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 0) };
}

/**
 * Parses a user-supplied destination URL and refuses what can be refused without DNS: another
 * scheme, credentials in the URL, and an IP literal the policy refuses. The WHATWG parser
 * normalizes decimal, hex, octal and short IPv4 (`2130706433`, `0x7f000001`, `127.1`) to the
 * dotted form first, so those are judged as the address they are.
 * @throws OutboundRefusedError (400) naming `field`.
 */
export function checkDestination(value: string, policy: OutboundPolicy, field: string, schemes: readonly string[] = ["http:", "https:"]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OutboundRefusedError(`Invalid ${field}: not a valid URL.`, field);
  }
  if (!schemes.includes(url.protocol)) throw new OutboundRefusedError(`Invalid ${field}: only ${schemes.map((s) => s.slice(0, -1)).join(" and ")} URLs are allowed.`, field);
  if (url.username || url.password) throw new OutboundRefusedError(`Invalid ${field}: credentials in the URL are not allowed.`, field);
  const { host, port } = endpointOf(url);
  if (isIP(host)) {
    const why = policy.addressRefusal(host, port);
    if (why) throw refused(field, why);
  }
  return url;
}

/**
 * `checkDestination`, then the name resolved now: refused when any of its addresses is refused
 * (unless the operator allowlisted the name). A name that does not resolve is let through here; the
 * connection-time check (guarded agents) still applies to whatever it resolves to later.
 */
export async function resolveDestination(value: string, policy: OutboundPolicy, field: string, schemes?: readonly string[]): Promise<URL> {
  const url = checkDestination(value, policy, field, schemes);
  const { host, port } = endpointOf(url);
  if (isIP(host) || policy.nameAllowed(host, port)) return url;
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    return url;
  }
  for (const a of addresses) {
    const why = policy.addressRefusal(a.address, port);
    if (why) throw refused(field, `${host} resolves to a refused address (${why})`);
  }
  return url;
}

export const refused = (field: string, why: string) =>
  new OutboundRefusedError(`The ${field} is not allowed: ${why}; only public addresses are reachable unless the operator allows it (SKYFERRY_OUTBOUND_ALLOW).`, field);
