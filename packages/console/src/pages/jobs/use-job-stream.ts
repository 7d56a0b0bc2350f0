import { followJob, SkyferryApiError } from "@skyferry/client/browser";
import type { TransferJob } from "@skyferry/contracts";
import { useEffect, useRef, useState } from "preact/hooks";
import { sky } from "../../api/client.ts";

const FINAL = new Set(["ok", "error", "deleted"]);
export const isFinal = (state: string) => FINAL.has(state);

export interface LiveJob {
  job: TransferJob;
  /** Bytes per second over the last progress events; undefined until two have arrived. */
  rate: number | undefined;
  /** The stream broke (network, server restart); the job may still be running. */
  streamError: string | undefined;
}

/**
 * Follows a job over Server-Sent Events (`GET /api/jobs/{id}/events` through the SDK, the session
 * cookie goes along): the job now, progress, then the final job. `generation` restarts the stream (after a retry).
 */
export function useJobStream(initial: TransferJob, generation: number): LiveJob {
  const [live, setLive] = useState<LiveJob>({ job: initial, rate: undefined, streamError: undefined });
  const last = useRef<{ at: number; bytes: number } | undefined>(undefined);

  useEffect(() => setLive((l) => ({ ...l, job: initial })), [initial]);

  useEffect(() => {
    if (isFinal(initial.state) && generation === 0) return;
    // The SDK's followJob (fetch + the session cookie): the job now, progress, then the final job;
    // a stream that breaks is opened again after a pause, saying so while the job may still run.
    const controller = new AbortController();
    const follow = async () => {
      for (;;) {
        try {
          for await (const e of followJob(sky, initial.id, { signal: controller.signal })) {
            if (e.event === "progress") {
              const p = e.progress;
              const now = performance.now();
              const prev = last.current;
              last.current = { at: now, bytes: p.bytes_done };
              setLive((l) => {
                const dt = prev ? (now - prev.at) / 1000 : 0;
                const rate = prev && dt > 0 && p.bytes_done >= prev.bytes ? (p.bytes_done - prev.bytes) / dt : l.rate;
                return { job: { ...l.job, state: p.state, bytes_done: p.bytes_done, bytes_total: p.bytes_total }, rate, streamError: undefined };
              });
            } else if (isFinal(e.job.state)) {
              setLive({ job: e.job, rate: undefined, streamError: undefined });
            } else {
              // The baseline for the rate: the first progress event already gives one.
              last.current = { at: performance.now(), bytes: e.job.bytes_done };
              setLive((l) => ({ ...l, job: e.job, streamError: undefined }));
            }
          }
          return;
        } catch (err) {
          if (controller.signal.aborted) return;
          // Refused (signed out, not found): trying again would not help.
          if (err instanceof SkyferryApiError && err.status >= 400 && err.status < 500) {
            setLive((l) => ({ ...l, streamError: `Live updates stopped: ${err.message}` }));
            return;
          }
          setLive((l) => ({ ...l, streamError: "Live updates interrupted; reconnecting…" }));
          await new Promise((r) => setTimeout(r, 2000));
          if (controller.signal.aborted) return;
        }
      }
    };
    void follow();
    return () => controller.abort();
  }, [initial.id, generation]);

  return live;
}
