import DataLoader from "dataloader";

export interface BatcherOptions {
  /** Most keys in one operation (more are split into several). Default 256. */
  maxBatchSize?: number;
  /**
   * How long the first call of a batch waits for others. 0 (default): the calls made within one
   * turn of the event loop. A few milliseconds gather the completions of many concurrent jobs,
   * which finish at different moments, into one operation, at that cost in latency per call.
   */
  windowMs?: number;
}

/**
 * Coalesces concurrent calls of one kind into one MongoDB operation (a `$in` read, an
 * `insertMany`): FerretDB spends about 1 ms of its CPU on every operation, whatever its size, so
 * sixteen jobs finishing together cost one insert instead of sixteen.
 * `run` answers per key, in the keys' order, a value or an Error (that key's caller then throws).
 */
export function createBatcher<K, V>(run: (keys: readonly K[]) => Promise<Array<V | Error>>, options: BatcherOptions = {}): (key: K) => Promise<V> {
  const windowMs = options.windowMs ?? 0;
  const loader = new DataLoader<K, V>(
    (keys) => run(keys),
    {
      cache: false,
      maxBatchSize: options.maxBatchSize ?? 256,
      // Never behind another batch: one MongoDB operation that does not return must not hold up
      // every later call of its kind.
      batchScheduleFn: windowMs > 0 ? (dispatch) => void setTimeout(dispatch, windowMs) : (dispatch) => void setImmediate(dispatch),
    },
  );
  return (key) => loader.load(key);
}
