import type { TransferJob } from "@skyferry/contracts";
import { useEffect, useRef, useState } from "preact/hooks";

const FINAL = new Set(["ok", "error", "deleted"]);
export const isFinal = (state: string) => FINAL.has(state);

export interface LiveJob {
  job: TransferJob;
  /** Bytes per second over the last progress events; undefined until two have arrived. */
  rate: number | undefined;
  /** The stream broke (network, server restart); the job may still be running. */
  streamError: string | undefined;
}

interface ProgressEvent {
  job_id: string;
  state: TransferJob["state"];
  bytes_done: number;
  bytes_total: number;
}

/**
 * Follows a job over Server-Sent Events (`GET /api/jobs/{id}/events`, the session cookie goes
 * along): the job now, progress, then the final job. `generation` restarts the stream (after a retry).
 */
export function useJobStream(initial: TransferJob, generation: number): LiveJob {
  const [live, setLive] = useState<LiveJob>({ job: initial, rate: undefined, streamError: undefined });
  const last = useRef<{ at: number; bytes: number } | undefined>(undefined);

  useEffect(() => setLive((l) => ({ ...l, job: initial })), [initial]);

  useEffect(() => {
    if (isFinal(initial.state) && generation === 0) return;
    const source = new EventSource(`/api/jobs/${encodeURIComponent(initial.id)}/events`, { withCredentials: true });
    let done = false;
    const settle = (job: TransferJob) => {
      done = true;
      source.close();
      setLive({ job, rate: undefined, streamError: undefined });
    };
    source.addEventListener("state", (e) => {
      const job = JSON.parse((e as MessageEvent<string>).data) as TransferJob;
      // The baseline for the rate: the first progress event already gives one.
      last.current = { at: performance.now(), bytes: job.bytes_done };
      if (isFinal(job.state)) settle(job);
      else setLive((l) => ({ ...l, job, streamError: undefined }));
    });
    source.addEventListener("progress", (e) => {
      const p = JSON.parse((e as MessageEvent<string>).data) as ProgressEvent;
      const now = performance.now();
      const prev = last.current;
      last.current = { at: now, bytes: p.bytes_done };
      setLive((l) => {
        const dt = prev ? (now - prev.at) / 1000 : 0;
        const rate = prev && dt > 0 && p.bytes_done >= prev.bytes ? (p.bytes_done - prev.bytes) / dt : l.rate;
        return { job: { ...l.job, state: p.state, bytes_done: p.bytes_done, bytes_total: p.bytes_total }, rate, streamError: undefined };
      });
    });
    for (const name of ["completed", "failed"]) source.addEventListener(name, (e) => settle(JSON.parse((e as MessageEvent<string>).data) as TransferJob));
    source.onerror = () => {
      // EventSource reconnects by itself; say so only while the job is not known to be finished.
      if (!done) setLive((l) => ({ ...l, streamError: "Live updates interrupted; reconnecting…" }));
    };
    return () => {
      done = true;
      source.close();
    };
  }, [initial.id, generation]);

  return live;
}
