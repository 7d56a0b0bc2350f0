/**
 * Runs the writes of one job's document one after another, in call order: FerretDB v1 loses
 * concurrent updates of one document. A failed write does not stop the ones queued after it;
 * `settled()` waits for every write queued so far.
 */
export function createWriteChain() {
  let chain: Promise<unknown> = Promise.resolve();
  return {
    write<T>(fn: () => Promise<T>): Promise<T> {
      const p = chain.then(fn);
      chain = p.catch(() => undefined);
      return p;
    },
    settled: (): Promise<unknown> => chain,
  };
}
