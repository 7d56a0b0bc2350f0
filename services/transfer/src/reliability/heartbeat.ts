/**
 * Keeps a claimed job's heartbeat fresh while its worker runs it: one conditional update every
 * `intervalMs` (progress writes refresh it too; a small job ends before its first beat). When the
 * update finds the job no longer running for this message (the reconciler gave it to another, or it
 * ended), `onLost` stops the run. A failed write (the database down) is only reported: the next
 * beat tries again, and the reconciler waits for the database to have answered for a while before
 * it judges heartbeats (reconciler.ts).
 */
export function startHeartbeat(o: {
  beat: () => Promise<boolean>;
  intervalMs: number;
  onLost: () => void;
  onError: (err: unknown) => void;
}): { stop(): void } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    o.beat()
      .then((alive) => {
        if (!alive) o.onLost();
      }, o.onError)
      .finally(() => {
        busy = false;
      });
  }, o.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
