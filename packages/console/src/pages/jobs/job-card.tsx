import type { TransferJob } from "@skyferry/contracts";
import { useState } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { href } from "../../route.ts";
import { formatBytes, formatRate, formatTime } from "../../ui/format.ts";
import { ErrorBox } from "../../ui/messages.tsx";
import { useAction } from "../../ui/use-load.ts";
import { isFinal, useJobStream } from "./use-job-stream.ts";

const STATE_WORDS: Record<string, string> = {
  new: "waiting to start",
  queued: "queued",
  running: "sending",
  ok: "done",
  error: "failed",
  deleted: "cancelled",
};
/** A get job copies an object into a history: it downloads where a send uploads. */
const GET_STATE_WORDS: Record<string, string> = { ...STATE_WORDS, running: "downloading" };

/** One job: a live progress bar, bytes and rate, the final key, the error in words, cancel/retry. */
export function JobCard({ initial }: { initial: TransferJob }) {
  const [base, setBase] = useState(initial);
  const [generation, setGeneration] = useState(0);
  const { job, rate, streamError } = useJobStream(base, generation);
  const action = useAction();
  const final = isFinal(job.state);
  const isGet = job.direction === "get";
  const words = isGet ? GET_STATE_WORDS : STATE_WORDS;
  const total = job.bytes_total || 0;
  const pct = total > 0 ? Math.min(100, Math.floor((job.bytes_done / total) * 100)) : final && job.state === "ok" ? 100 : 0;

  const cancel = () =>
    action.run(async () => {
      setBase(await call(() => sky.api.DELETE("/api/jobs/{id}", { params: { path: { id: job.id } } })));
    });
  const retry = () =>
    action.run(async () => {
      setBase(await call(() => sky.api.POST("/api/jobs/{id}/retry", { params: { path: { id: job.id } } })));
      setGeneration((g) => g + 1);
    });

  return (
    <li class={`card job job-${job.state}`} data-testid="job" data-job-id={job.id} data-state={job.state} data-object-key={job.object_key}>
      <div class="row spread">
        <h2 class="h3 break">
          <span class="badge">{job.provider}</span> {job.bucket}/{job.object_key}
        </h2>
        <span class={`status status-${job.state}`} data-testid="job-state">
          {words[job.state] ?? job.state}
        </span>
      </div>
      <progress max={100} value={pct} aria-label={`Progress of ${job.object_key}`} aria-valuetext={`${pct}%`} />
      <p class="muted" aria-live="polite">
        {formatBytes(job.bytes_done)} of {formatBytes(total)} ({pct}%)
        {!final && rate !== undefined ? ` · ${formatRate(rate)}` : ""}
        {job.attempts > 1 ? ` · attempt ${job.attempts}` : ""}
      </p>
      {job.state === "ok" ? (
        <p data-testid="job-object">
          {isGet ? (
            <>
              Copied into <a href={href("histories", job.history_id)}>the history</a>
            </>
          ) : (
            <>
              {job.outcome === "skipped" ? "Skipped: the object exists" : "Stored as"} <code class="break">{job.object_key}</code> in <code>{job.bucket}</code>
            </>
          )}
          {job.checksum.sha256 ? (
            <>
              {" "}
              · sha256 <code class="mono break">{job.checksum.sha256.slice(0, 16)}…</code>
            </>
          ) : null}
        </p>
      ) : null}
      {job.error ? (
        <p class="alert alert-error" role="alert" data-testid="job-error">
          {job.error.message}
          {job.error.provider_reason ? ` (the provider said: ${job.error.provider_reason})` : ""}
        </p>
      ) : null}
      {streamError && !final ? <p class="muted">{streamError}</p> : null}
      <ErrorBox error={action.error} />
      <div class="row">
        <span class="muted">
          Job <code>{job.id}</code> · started {formatTime(job.create_time)}
          {job.request_id ? (
            <>
              {" "}
              · request <code class="mono break" data-testid="job-request-id" title="Quote this id when reporting a problem: every service's log lines carry it">{job.request_id}</code>
            </>
          ) : null}
        </span>
        {!final ? (
          <button type="button" class="button-danger" disabled={action.busy} onClick={() => void cancel()}>
            Cancel
          </button>
        ) : null}
        {job.state === "error" ? (
          <button type="button" disabled={action.busy} onClick={() => void retry()}>
            Retry
          </button>
        ) : null}
      </div>
    </li>
  );
}
