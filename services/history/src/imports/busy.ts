/**
 * FerretDB v1 on SQLite answers a write that meets another writer's lock with "database is locked
 * (SQLITE_BUSY)" instead of waiting; with many imports finishing while transfer workers write their
 * jobs this is routine. Nothing was written: the operation is tried again after a short random pause.
 */
export function isBusyError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return message.includes("SQLITE_BUSY") || message.includes("database is locked");
}

export async function retryBusy<T>(fn: () => Promise<T>, attempts = 12): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isBusyError(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * Math.min(200, 10 * 2 ** i)));
    }
  }
}
