import { isIP } from "node:net";
import { createOutboundPolicy, type OutboundPolicy } from "@skyferry/outbound-policy";
import { forbidden } from "./errors.ts";

/** URL uploads' settings; the rules themselves are @skyferry/outbound-policy's, shared with every outbound destination. */
export interface AddressPolicy {
  /** Allow every address (development, tests). */
  allowPrivate: boolean;
  /** SKYFERRY_OUTBOUND_ALLOW entries (CIDR, IP[:port], host[:port]) allowed although not public. */
  allowlist?: readonly string[];
}

export const outboundPolicyOf = (policy: AddressPolicy): OutboundPolicy => createOutboundPolicy({ allow: policy.allowlist ?? [], allowPrivate: policy.allowPrivate });

/** Why an address may not be fetched (on any port), or null when it may. */
export function refusal(address: string, policy: AddressPolicy): string | null {
  return outboundPolicyOf(policy).addressRefusal(address, 0);
}

/** Throws URL_FORBIDDEN when `host` is an IP literal the policy refuses (names are checked at connect time). */
export function checkLiteralHost(host: string, port: number, policy: OutboundPolicy): void {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  if (isIP(bare) === 0) return;
  const why = policy.addressRefusal(bare, port);
  if (why) throw forbidden(why);
}
