import { useState } from "preact/hooks";
import { getJob } from "@skyferry/client/browser";
import { call, sky } from "../../api/client.ts";
import { href } from "../../route.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { useLoad } from "../../ui/use-load.ts";
import { JobCard } from "./job-card.tsx";

/** Transfer jobs: the ones just sent (`?ids=`) or the most recent, followed live. */
export function JobsPage({ ids }: { ids?: string[] }) {
  const key = ids?.join(",") ?? "";
  const jobs = useLoad(async () => (ids && ids.length > 0 ? Promise.all(ids.map((id) => getJob(sky, id))) : call(() => sky.api.GET("/api/jobs", { params: { query: { limit: 50 } } }))), [key]);
  const [, setTick] = useState(0);
  const allGets = !!jobs.data && jobs.data.length > 0 && jobs.data.every((j) => j.direction === "get");
  return (
    <section aria-labelledby="jobs-title">
      <div class="row spread">
        <h1 id="jobs-title">{ids && ids.length > 0 ? (allGets ? "Jobs of this get" : "Jobs of this send") : "Recent jobs"}</h1>
        <div class="row">
          {ids && ids.length > 0 ? <a href={href("jobs")}>All recent jobs</a> : null}
          <button type="button" onClick={() => { jobs.reload(); setTick((t) => t + 1); }}>
            Refresh
          </button>
        </div>
      </div>
      {jobs.loading && !jobs.data ? <Loading what="jobs" /> : null}
      <ErrorBox error={jobs.error} title="Could not load the jobs" />
      {jobs.data && jobs.data.length === 0 ? (
        <p class="muted">
          No jobs yet. <a href={href("send")}>Send something</a>.
        </p>
      ) : null}
      <ul class="cards" aria-label="Jobs">
        {(jobs.data ?? []).map((j) => (
          <JobCard key={j.id} initial={j} />
        ))}
      </ul>
    </section>
  );
}
