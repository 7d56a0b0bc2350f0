import { SkyferryError } from "@skyferry/errors";
import { StorageError } from "./errors.ts";

/** Something that stops working at `expiresAt` (credentials, a SAS, a bearer token). */
export interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/**
 * Wraps a fetch of expiring credentials: keeps the last value until `marginMs` before it expires
 * (at most half its lifetime), fetches once for concurrent callers, and keeps a still-valid value
 * when a renewal fails.
 * @throws StorageError from the returned function when no valid value can be had: the fetch's own
 *   StorageError, TRANSIENT for a retryable SkyferryError, else INVALID_CREDENTIALS.
 */
export function createRenewer<T>(
  fetch: () => Promise<{ value: T; expiresAt: Date | number }>,
  marginMs: number,
  now: () => number = Date.now,
): () => Promise<Expiring<T>> {
  let cached: (Expiring<T> & { refreshAt: number }) | undefined;
  let inflight: Promise<Expiring<T>> | undefined;
  const fetchFresh = async (): Promise<Expiring<T>> => {
    const fetchedAt = now();
    const got = await fetch();
    const expiresAt = +got.expiresAt;
    const lifetime = Math.max(0, expiresAt - fetchedAt);
    cached = { value: got.value, expiresAt, refreshAt: expiresAt - Math.min(marginMs, lifetime / 2) };
    return cached;
  };
  return async () => {
    if (cached && now() < cached.refreshAt) return cached;
    inflight ??= fetchFresh().finally(() => {
      inflight = undefined;
    });
    try {
      return await inflight;
    } catch (err) {
      if (cached && now() < cached.expiresAt) return cached;
      throw credentialsError(err);
    }
  };
}

function credentialsError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const retryable = err instanceof SkyferryError && err.retryable;
  return new StorageError(retryable ? "TRANSIENT" : "INVALID_CREDENTIALS", `obtaining credentials failed: ${(err as Error)?.message ?? String(err)}`, {
    providerReason: "CredentialsRefreshFailed",
    cause: err,
  });
}
