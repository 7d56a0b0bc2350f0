import DataLoader from "dataloader";

/**
 * Coalesces concurrent calls of one kind into one MongoDB operation (a `$in` read, an
 * `insertMany`): FerretDB spends about 1 ms of its CPU on every operation, whatever its size, so
 * sixteen jobs finishing together cost one insert instead of sixteen. A batch holds the calls made
 * within one turn of the event loop.
 * `run` answers per key, in the keys' order, a value or an Error (that key's caller then throws).
 */
export function createBatcher<K, V>(run: (keys: readonly K[]) => Promise<Array<V | Error>>, maxBatchSize = 256): (key: K) => Promise<V> {
  const loader = new DataLoader<K, V>(
    (keys) => run(keys),
    {
      cache: false,
      maxBatchSize,
      // Never behind another batch: one MongoDB operation that does not return must not hold up
      // every later call of its kind.
      batchScheduleFn: (dispatch) => void setImmediate(dispatch),
    },
  );
  return (key) => loader.load(key);
}
