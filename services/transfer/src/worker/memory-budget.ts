/**
 * Bytes of body buffers a worker may hold at once. `acquire(n)` waits (first come, first served)
 * until `n` bytes are free; a request larger than the whole budget is clamped to it, so it runs
 * alone rather than never. Returns the release function (idempotent).
 */
export function createMemoryBudget(totalBytes: number) {
  let free = totalBytes;
  const waiting: Array<{ n: number; go: () => void }> = [];
  const pump = () => {
    while (waiting.length > 0 && waiting[0]!.n <= free) {
      const w = waiting.shift()!;
      free -= w.n;
      w.go();
    }
  };
  return {
    get free() {
      return free;
    },
    async acquire(bytes: number, signal?: AbortSignal): Promise<() => void> {
      const n = Math.min(Math.max(0, bytes), totalBytes);
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
      if (waiting.length === 0 && n <= free) free -= n;
      else {
        await new Promise<void>((resolve, reject) => {
          const entry = { n, go: () => { signal?.removeEventListener("abort", onAbort); resolve(); } };
          const onAbort = () => {
            const i = waiting.indexOf(entry);
            if (i >= 0) waiting.splice(i, 1);
            pump();
            reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
          };
          signal?.addEventListener("abort", onAbort, { once: true });
          waiting.push(entry);
        });
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        free += n;
        pump();
      };
    },
  };
}
