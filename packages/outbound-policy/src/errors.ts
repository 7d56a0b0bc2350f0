import { GalaxyCode, SkyferryError } from "@skyferry/errors";

/**
 * A user-supplied destination (a storage endpoint, an authority host, a URL to fetch) that the
 * outbound policy refuses: loopback, private, link-local, ... and not on the operator's allowlist.
 * Always the user's input, hence 400.
 */
export class OutboundRefusedError extends SkyferryError {
  declare readonly code: "OUTBOUND_REFUSED";
  constructor(message: string, field?: string) {
    super("OUTBOUND_REFUSED", message, { status: 400, errCode: GalaxyCode.invalid, ...(field ? { field } : {}) });
    this.name = "OutboundRefusedError";
  }
}

export function isOutboundRefused(err: unknown): err is OutboundRefusedError {
  return err instanceof OutboundRefusedError || (typeof err === "object" && err !== null && (err as { code?: unknown }).code === "OUTBOUND_REFUSED");
}
