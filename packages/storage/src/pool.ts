import { StorageError } from "./errors.ts";

/** The ABORTED error for a fired signal (keeps the signal's reason as cause). */
export function abortedError(signal: AbortSignal | undefined): StorageError {
  return new StorageError("ABORTED", "the operation was aborted", { cause: signal?.reason });
}

/**
 * Runs `task` for each item of `source` with at most `concurrency` tasks at once, pulling the next
 * item only when a slot is free (so memory stays bounded by what the tasks hold). On the first
 * failure it stops pulling, calls `onFailure` (e.g. to abort the running tasks), waits for the
 * running tasks to settle, and rethrows that first error.
 * @throws the first error of a task or of the source; StorageError ABORTED when `signal` fires.
 */
export async function forEachBounded<T>(
  source: AsyncIterable<T>,
  concurrency: number,
  task: (item: T) => Promise<void>,
  options: { signal?: AbortSignal; onFailure?: (err: unknown) => void } = {},
): Promise<void> {
  const limit = Math.max(1, Math.floor(concurrency));
  const running = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  const fail = (err: unknown): void => {
    if (failure) return;
    failure = { err };
    options.onFailure?.(err);
  };
  const iterator = source[Symbol.asyncIterator]();
  try {
    while (!failure) {
      if (options.signal?.aborted) throw abortedError(options.signal);
      const next = await iterator.next();
      if (next.done) break;
      const p: Promise<void> = task(next.value)
        .then(undefined, fail)
        .finally(() => running.delete(p));
      running.add(p);
      while (running.size >= limit && !failure) await Promise.race(running);
    }
  } catch (err) {
    fail(err);
  }
  await Promise.allSettled(running);
  if (failure) {
    await iterator.return?.().catch(() => undefined);
    throw failure.err;
  }
}
