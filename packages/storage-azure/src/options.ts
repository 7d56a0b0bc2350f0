import type { TokenCredential } from "@azure/identity";
import type { OutboundPolicy } from "@skyferry/outbound-policy";

/** A SAS (the query string, with or without a leading `?`) and the moment it expires. */
export interface ExpiringSas {
  sas: string;
  expiresAt: Date | number;
}

/** A bearer token (Microsoft Entra ID access token for `https://storage.azure.com`) and its expiry. */
export interface ExpiringToken {
  token: string;
  expiresAt: Date | number;
}

/** How the store authenticates. Functions are called again before what they returned expires. */
export type AzureAuth =
  | { kind: "shared_key"; accountName: string; accountKey: string }
  | { kind: "sas"; sas: string | (() => Promise<ExpiringSas>) }
  | { kind: "bearer"; token: TokenCredential | (() => Promise<ExpiringToken>) };

/** Options of `createAzureStore`. */
export interface AzureStoreOptions {
  /**
   * Checks every connection's address (the one actually connected to, after DNS) before it is
   * made: a user-supplied endpoint must pass it. Omitted: no check.
   */
  outbound?: OutboundPolicy;
  /** The account's blob endpoint, e.g. `https://acct.blob.core.windows.net` or Azurite's `http://127.0.0.1:10000/acct`. */
  accountUrl: string;
  auth: AzureAuth;
  /** Renew a SAS/token function's value this long before it expires (at most half its lifetime). Default 5 minutes. */
  refreshMarginMs?: number;
  /** Default block size when a put does not name one. Default 8 MiB. */
  partSize?: number;
  /** Default blocks in flight per put. Default 4. */
  concurrency?: number;
  /** Tries per request, including the first (the SDK's exponential retry). Default 3. */
  maxTries?: number;
  /**
   * Per-try timeout in ms, default 120000: the service's own (the `timeout` URL parameter) and,
   * with `outbound`, the client's: a connection in use with no bytes either way this long fails
   * (ETIMEDOUT, transient).
   */
  tryTimeoutMs?: number;
}
