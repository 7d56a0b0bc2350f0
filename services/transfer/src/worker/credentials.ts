import type { AuthzIssueCredentials, ProviderCredentials, RpcResponse } from "@skyferry/contracts";

export type IssuedCredentials = RpcResponse<typeof AuthzIssueCredentials>;

/**
 * Credentials for one job, asked for again before they expire: a transfer may outlive any one
 * credential. Renewal happens when less than `renewBeforeMs` (or a quarter of the credential's
 * life, whichever is longer) remains. Concurrent callers share one renewal.
 */
export function createCredentialSource(options: {
  issue: () => Promise<IssuedCredentials>;
  renewBeforeMs: number;
  now?: () => number;
}): () => Promise<ProviderCredentials> {
  const now = options.now ?? Date.now;
  let current: { credentials: ProviderCredentials; renewAt: number } | undefined;
  let pending: Promise<ProviderCredentials> | undefined;
  const renew = async (): Promise<ProviderCredentials> => {
    const issuedAt = now();
    const issued = await options.issue();
    let renewAt = Number.POSITIVE_INFINITY;
    if (issued.expires_at !== null) {
      const expires = Date.parse(issued.expires_at);
      const margin = Math.max(options.renewBeforeMs, (expires - issuedAt) / 4);
      renewAt = expires - margin;
    }
    current = { credentials: issued.credentials, renewAt };
    return issued.credentials;
  };
  return async () => {
    if (current && now() < current.renewAt) return current.credentials;
    pending ??= renew().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
