import { isTransientBusError } from "@skyferry/bus";
import { isDatabaseUnavailable } from "@skyferry/db";
import { isRetryable, isSkyferryError } from "@skyferry/errors";
import { classifyFailure, failureText, isStorageError, isTransientFailure, networkFailure } from "@skyferry/storage";

/**
 * What a failed attempt of a job is, for every worker path (send, get): `transient` when a later
 * attempt may succeed -- retried with backoff, never terminated, within the patience -- or
 * `permanent` -- the job ends `error` at once. `reason` is fixed text (never a provider's body or an
 * exception's message), the last reason a job that gives up reports.
 */
export interface WorkFailure {
  kind: "transient" | "permanent";
  /** Where the fault was: our database, the message bus, the provider, or our own check (permanent). */
  source: "database" | "bus" | "provider" | "network" | "service" | "job";
  reason: string;
}

const DATABASE = "The database was unreachable.";
const BUS = "Another skyferry service did not answer in time.";

/**
 * The one failure classification of the transfer workers (issue 25). Transient: the database
 * unreachable or without a primary (@skyferry/db `isDatabaseUnavailable`); NATS timeouts, no
 * responders, a closed or reconnecting connection (@skyferry/bus `isTransientBusError`, and the
 * retryable BUS_TIMEOUT / BUS_NO_RESPONDERS / SERVICE_UNAVAILABLE replies, and another service's
 * INTERNAL answer); provider failures in
 * the vocabulary's transient set (throttled incl. 429 and `SlowDown`, 5xx, unreachable incl. resets
 * and DNS, timeout: @skyferry/storage `isTransientFailure`); any other error with a network code.
 * Permanent: every other provider failure (access denied, no such bucket, invalid credentials or
 * key, integrity), our own coded errors that are not retryable (validation, integrity after the
 * retries a part gets, a dataset not the user's, ...), and anything unknown.
 */
export function classifyWorkFailure(err: unknown): WorkFailure {
  if (isDatabaseUnavailable(err)) return { kind: "transient", source: "database", reason: DATABASE };
  if (isTransientBusError(err)) return { kind: "transient", source: "bus", reason: BUS };
  // SOURCE: reading our own dataset failed; its cause says whether that was a network fault.
  if (isStorageError(err) && err.storageCode !== "SOURCE") {
    const f = classifyFailure(err);
    return { kind: isTransientFailure(f.failure) ? "transient" : "permanent", source: "provider", reason: f.reason };
  }
  if (isSkyferryError(err)) {
    const sourceNet = isStorageError(err, "SOURCE") ? networkFailure(err.cause) : undefined;
    if (sourceNet && sourceNet !== "tls_error") return { kind: "transient", source: "network", reason: failureText(sourceNet) };
    // Another service's internal error (a 5xx over the bus): like a provider's 5xx, not a fact about
    // the job. bench:chaos saw one answered just after a database restart that the service did not
    // take for the database being down (issue 25, seed 1); within the patience it is retried, and a
    // service that keeps failing ends the job XFER_GAVE_UP with that reason.
    if (err.code === "INTERNAL" && err.status >= 500) return { kind: "transient", source: "service", reason: "A service this transfer needs failed (an internal error); it is retried." };
    if (!isRetryable(err)) return { kind: "permanent", source: "job", reason: err.message };
    const source = err.code.startsWith("BUS_") ? "bus" : err.code === "SERVICE_UNAVAILABLE" ? "service" : "job";
    return { kind: "transient", source, reason: source === "bus" ? BUS : err.message };
  }
  const net = networkFailure(err);
  if (net && net !== "tls_error") return { kind: "transient", source: "network", reason: failureText(net) };
  return { kind: "permanent", source: "job", reason: "The transfer failed on our side (an internal error); it is logged." };
}

/** Delay before a transient failure's next attempt: doubling from 1 s with each delivery, capped. */
export function retryDelayMs(delivery: number, capMs: number): number {
  return Math.min(1000 * 2 ** Math.max(0, Math.min(delivery, 30) - 1), capMs);
}

/** `1h 2m`, `15m`, `42s`: a duration for a job's `gave up after ...`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [h ? `${h}h` : "", m ? `${m}m` : "", s % 60 || (!h && !m) ? `${s % 60}s` : ""].filter(Boolean);
  return parts.join(" ");
}
