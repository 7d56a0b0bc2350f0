import { EventSourceParserStream } from "eventsource-parser/stream";
import type { Skyferry } from "./client.ts";
import { clientError, errorFromText } from "./errors.ts";
import { isFinal, type Job, type JobProgress } from "./types.ts";

/** What `GET /api/jobs/{id}/events` sends: the job now, progress, then the final job. */
export type JobEvent =
  | { event: "state"; job: Job }
  | { event: "progress"; job_id: string; progress: JobProgress }
  | { event: "completed" | "failed"; job: Job };

/** Opens one SSE stream and yields its events (`event:` name and parsed `data:`). */
async function* readEventStream(sky: Skyferry, path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: unknown }> {
  const res = await sky.fetch(`${sky.baseUrl}${path}`, {
    headers: { ...sky.authHeaders(), accept: "text/event-stream" },
    ...(sky.credentials ? { credentials: sky.credentials } : {}),
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) throw errorFromText(res.status, await res.text().catch(() => ""), res.statusText);
  if (!res.body) throw clientError("CLIENT_BAD_RESPONSE", `${path}: no event stream in the answer`);
  const events = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  for await (const e of events) {
    let data: unknown;
    try {
      data = JSON.parse(e.data);
    } catch (err) {
      throw clientError("CLIENT_BAD_RESPONSE", `${path}: an event that is not JSON`, err);
    }
    yield { event: e.event ?? "message", data };
  }
}

/**
 * Follows one job until it reaches a final state (ok, error, deleted), yielding every event.
 * A stream that ends early (a gateway restart, a proxy timeout) is opened again; the `state`
 * event it starts with says where the job is, so nothing is lost but intermediate progress.
 */
export async function* followJob(sky: Skyferry, jobId: string, opts: { signal?: AbortSignal; reconnectDelayMs?: number } = {}): AsyncGenerator<JobEvent> {
  const path = `/api/jobs/${encodeURIComponent(jobId)}/events`;
  for (;;) {
    for await (const { event, data } of readEventStream(sky, path, opts.signal)) {
      if (event === "progress") yield { event, job_id: jobId, progress: data as JobProgress };
      else if (event === "state" || event === "completed" || event === "failed") {
        const job = data as Job;
        yield { event, job };
        if (isFinal(job.state)) return;
      }
    }
    if (opts.signal?.aborted) throw clientError("CLIENT_ABORTED", "Stopped following the job.");
    await new Promise((r) => setTimeout(r, opts.reconnectDelayMs ?? 500));
  }
}

/**
 * Follows several jobs at once (a send's, or a get's), merging their events in arrival order;
 * ends when every job is final. What the console and the CLI show while a send runs.
 */
export async function* followJobs(sky: Skyferry, jobIds: readonly string[], opts: { signal?: AbortSignal } = {}): AsyncGenerator<JobEvent> {
  const streams = jobIds.map((id) => followJob(sky, id, opts));
  const next = (i: number) => streams[i]!.next().then((r) => ({ i, r }));
  const pending = new Map(streams.map((_, i) => [i, next(i)] as const));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pending.set(i, next(i));
      yield r.value;
    }
  } finally {
    // Stop the other streams when the consumer stops early (or one failed).
    await Promise.allSettled(streams.map((s) => s.return(undefined)));
  }
}
