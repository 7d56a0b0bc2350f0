import type { Retry, WorkContext } from "@skyferry/bus";
import type { Logger } from "@skyferry/logger";
import { isJobFailedPermanently } from "../errors.ts";
import { classifyWorkFailure } from "./failure.ts";
import { continuationId } from "./work-chain.ts";

type JobWork = { job_id: string; direction?: "get" | undefined };
type Handler = (data: JobWork, ctx: WorkContext) => Promise<void | Retry>;

/**
 * The failure policy around every job's work handler (send and get), so that no transient fault
 * ends work: a throw the runner did not turn into an outcome (the database down while the job is
 * loaded, claimed or its failure recorded; a NATS timeout) that is transient is handed back after
 * a delay (nak) -- neither acknowledged nor terminated; only a permanent one terminates. And since
 * JetStream delivers a message at most TRANSFER_MAX_DELIVER times, a hand-back on the last
 * delivery waits out its delay here and continues in a new message (`<id>.c<time>`) instead, of
 * the same chain (work-chain.ts): it takes over the claim its predecessor made, since a job the
 * database went away under is still `running` for that message when the database comes back.
 */
export function guardWork(handler: Handler, o: {
  retryDelayMs: (delivery: number) => number;
  continueWork: (data: JobWork, msgId: string) => Promise<void>;
  logger: Logger;
}): Handler {
  return async (data, ctx) => {
    let out: void | Retry;
    try {
      out = await handler(data, ctx);
    } catch (err) {
      if (ctx.signal.aborted || isJobFailedPermanently(err)) throw err; // hand-back on shutdown; term
      const failure = classifyWorkFailure(err);
      if (failure.kind === "permanent") throw err;
      out = { retryAfterMs: o.retryDelayMs(ctx.deliveryCount) };
      o.logger.warn({ err, job_id: data.job_id, source: failure.source, delivery: ctx.deliveryCount, retry_after_ms: out.retryAfterMs }, "job work failed transiently; handed back");
    }
    if (!out || !ctx.lastAttempt) return out;
    await delay(out.retryAfterMs, ctx.signal); // aborted: throws, the worker hands the message back
    await o.continueWork(data, continuationId(ctx.messageId, Date.now()));
    o.logger.info({ job_id: data.job_id, delivery: ctx.deliveryCount }, "last delivery of a job's message: continued in a new one");
    return undefined;
  };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
