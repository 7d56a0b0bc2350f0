/**
 * FerretDB v1 on SQLite answers a write that meets another writer's lock with "database is locked
 * (SQLITE_BUSY)" instead of waiting: with many jobs finishing at once this is routine, not a
 * failure. Such an operation is tried again after a short random pause (nothing was written).
 */
export function isBusyError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return message.includes("SQLITE_BUSY") || message.includes("database is locked");
}

export async function retryBusy<T>(fn: () => Promise<T>, attempts = 12, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isBusyError(err)) throw err;
      await sleep(5 + Math.random() * Math.min(200, 10 * 2 ** i));
    }
  }
}
