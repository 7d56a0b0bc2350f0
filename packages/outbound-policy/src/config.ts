import { Type } from "@sinclair/typebox";

/** The outbound policy's setting, to spread into the config schema of every service that connects to user-supplied destinations. */
export const OutboundConfig = {
  /**
   * Destinations allowed although not public (comma-separated or a JSON array): CIDR (`10.0.0.0/8`),
   * IP, `IP:port`, `[IPv6]:port`, `host` or `host:port` (an allowlisted name is trusted as named).
   * Empty (the default): public addresses only. The local stack allowlists its radosgw and Azurite.
   */
  SKYFERRY_OUTBOUND_ALLOW: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { default: [] }),
};
