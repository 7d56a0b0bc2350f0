export { type AllowEntry, parseAllowlist } from "./allowlist.ts";
export { guardConnection, guardedAgents, guardedLookup } from "./connect.ts";
export { checkDestination, endpointOf, refused, resolveDestination } from "./destination.ts";
export { isOutboundRefused, OutboundRefusedError } from "./errors.ts";
export { createOutboundPolicy, type OutboundPolicy, type OutboundPolicyOptions } from "./policy.ts";
export { OutboundConfig } from "./config.ts";
