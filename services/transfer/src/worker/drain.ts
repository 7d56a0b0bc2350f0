import type { Retry, WorkContext } from "@skyferry/bus";

type Handler<D> = (data: D, ctx: WorkContext) => Promise<void | Retry>;

/**
 * How long a handed-back job waits before it is delivered again. Not 0: the stopping worker's pull
 * requests stay open on the server until its connection closes (a pull cannot be cancelled), and a
 * job nak'd without delay was measured going straight back into one of them, where no one ran it
 * until the ack wait (30 s) ran out. The worker closes its connection within a second of handing
 * back; then the job goes to another worker.
 */
export const HAND_BACK_DELAY_MS = 2000;

export interface Drain<D> {
  /** `handler`, whose jobs also stop when `handBack()` is called. */
  handler: Handler<D>;
  /**
   * Ends the drain: every running job is aborted and answers `{ retryAfterMs: HAND_BACK_DELAY_MS }`
   * (nak), so another worker takes it and resumes it from its recorded parts. The runners treat
   * their context's aborted signal as a shutdown: they rethrow without recording a failure.
   */
  handBack(): void;
}

/**
 * The end of a worker's drain (TRANSFER_DRAIN_SECONDS), independent of the consumer's own stop:
 * `Worker.stop(grace)` starts its grace only once the consumer's message iterator has closed, and
 * that iterator closes only when its loop can take the next message, which with every slot busy
 * and more work queued is when a running job ends; a busy worker would run its jobs to their end
 * however long they take (and past the orchestrator's grace period). So the drain ends here, at
 * its time, whatever the consumer is doing.
 */
export function createDrain<D>(handler: Handler<D>): Drain<D> {
  const ended = new AbortController();
  // One combined signal per worker signal (the consumer's is the same object for every message):
  // AbortSignal.any per job would cost a WeakRef and a finalizer for each small dataset.
  let outer: AbortSignal | undefined;
  let combined: AbortSignal = ended.signal;
  const signalFor = (s: AbortSignal): AbortSignal => {
    if (s !== outer) {
      outer = s;
      combined = AbortSignal.any([s, ended.signal]);
    }
    return combined;
  };
  return {
    async handler(data, ctx) {
      try {
        return await handler(data, { ...ctx, signal: signalFor(ctx.signal) });
      } catch (err) {
        if (ended.signal.aborted) return { retryAfterMs: HAND_BACK_DELAY_MS };
        throw err;
      }
    },
    handBack() {
      ended.abort(new Error("drain time over: handed back to another worker"));
    },
  };
}
