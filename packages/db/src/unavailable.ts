import { causeChain } from "@skyferry/errors";

/**
 * Driver error names that say the database could not be reached or lost the connection (the
 * server is down, restarting, unreachable, or the pool was cleared after a network error).
 */
const UNREACHABLE_NAMES = new Set([
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongoPoolClearedError",
  "MongoServerClosedError",
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
]);

/**
 * Server error codes that say "not now, try again": no primary (a failover), shutting down, an
 * interrupted operation. https://www.mongodb.com/docs/manual/reference/error-codes/
 */
const TRY_AGAIN_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Labels the driver puts on errors a retry may overcome. */
const TRY_AGAIN_LABELS = ["RetryableWriteError", "ResetPool", "TransientTransactionError"];

/**
 * True when `err` (or one of its causes) says the database is unreachable or temporarily unable to
 * serve (a network error, no server selected, no primary, shutting down): retrying later may
 * succeed. A refused write, a duplicate key or a bad query is not such an error.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (const e of causeChain(err)) {
    const s = e as { name?: unknown; code?: unknown; errorLabels?: unknown };
    if (typeof s.name === "string" && UNREACHABLE_NAMES.has(s.name)) return true;
    if (typeof s.code === "number" && TRY_AGAIN_CODES.has(s.code)) return true;
    if (Array.isArray(s.errorLabels) && s.errorLabels.some((l) => TRY_AGAIN_LABELS.includes(String(l)))) return true;
  }
  return false;
}
