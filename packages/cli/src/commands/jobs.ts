import { allJobs, followJobs, getJob, isFinal, type Job, type JobState, ok } from "@skyferry/client/node";
import { type Command, Option } from "commander";
import { EXIT, usage } from "../errors.ts";
import { bytes, stateColor, table } from "../format.ts";
import { followWithBars, summarize } from "../follow.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import { resolveHistory } from "../resolve.ts";

const STATES = ["new", "queued", "running", "ok", "error", "deleted"] as const;
const rows = (c: Parameters<typeof table>[0], jobs: Job[]) =>
  jobs.map((j) => [j.id, j.direction === "get" ? "get" : "send", stateColor(c, j.state), `${bytes(j.bytes_done)}/${bytes(j.bytes_total)}`, `${j.provider}:${j.bucket}/${j.object_key}`, j.update_time]);
const HEAD = ["ID", "KIND", "STATE", "BYTES", "OBJECT", "UPDATED"];

export function registerJobs(program: Command, wrap: Wrap): void {
  const jobs = program.command("jobs").alias("job").description("Transfer jobs: ls, show, watch, cancel, retry");
  jobs
    .command("ls")
    .description("Your jobs, newest first")
    .addOption(new Option("--state <state>", "only jobs in this state").choices(STATES))
    .option("--history <history>", "only jobs of this history (id or name)")
    .option("--limit <n>", "at most this many", (v) => Number.parseInt(v, 10), 50)
    .action(
      wrap(async (ctx, o: { state?: JobState; history?: string; limit: number }) => {
        if (!Number.isInteger(o.limit) || o.limit < 1) throw usage("--limit must be a positive integer");
        const sky = ctx.sky();
        const history_id = o.history ? (await resolveHistory(sky, o.history)).id : undefined;
        const out: Job[] = [];
        for await (const j of allJobs(sky, { ...(o.state ? { state: o.state } : {}), ...(history_id ? { history_id } : {}) }, Math.min(o.limit, 1000))) {
          out.push(j);
          if (out.length >= o.limit) break;
        }
        ctx.emit(O.JobListOutput, out, () => ctx.print(table(ctx.out, HEAD, rows(ctx.out, out))));
      }),
    );
  jobs
    .command("show <id>")
    .description("One job")
    .action(
      wrap(async (ctx, id: string) => {
        const j = await getJob(ctx.sky(), id);
        ctx.emit(O.JobOutput, j, () => {
          ctx.print(table(ctx.out, HEAD, rows(ctx.out, [j])));
          if (j.error) ctx.print(ctx.out.red(`${j.error.code}: ${j.error.message}${j.error.provider_reason ? ` (${j.error.provider_reason})` : ""}`));
          if (j.checksum.sha256) ctx.print(`sha256 ${j.checksum.sha256}  md5 ${j.checksum.md5}  attempts ${j.attempts}`);
        });
        return j.state === "error" ? EXIT.failed : EXIT.ok;
      }),
    );
  jobs
    .command("watch <ids...>")
    .description("Follow jobs until they end (live bars; with --json one JSON line per event)")
    .action(
      wrap(async (ctx, ids: string[]) => {
        const sky = ctx.sky();
        const started = Date.now();
        if (ctx.json) {
          // JSON lines: every event as it arrives, then the final jobs, one per line.
          for await (const e of followJobs(sky, ids)) ctx.io.stdout.write(`${JSON.stringify(e)}\n`);
          const final = await Promise.all(ids.map((id) => getJob(sky, id)));
          for (const j of final) ctx.io.stdout.write(`${JSON.stringify({ event: "final", job: j })}\n`);
          return final.some((j) => j.state !== "ok") ? EXIT.failed : EXIT.ok;
        }
        const before = await Promise.all(ids.map((id) => getJob(sky, id)));
        const final = await followWithBars(ctx, before.map((j) => ({ job_id: j.id, label: j.object_key, total: j.bytes_total })), "watch");
        return summarize(ctx, final, started);
      }),
    );
  jobs
    .command("cancel <ids...>")
    .description("Cancel jobs (aborts their uploads)")
    .action(
      wrap(async (ctx, ids: string[]) => {
        const sky = ctx.sky();
        const out: Job[] = [];
        for (const id of ids) out.push(ok(await sky.api.DELETE("/api/jobs/{id}", { params: { path: { id } } })) as Job);
        ctx.emit(O.JobListOutput, out, () => ctx.print(table(ctx.out, HEAD, rows(ctx.out, out))));
      }),
    );
  jobs
    .command("retry <ids...>")
    .description("Queue failed jobs again")
    .option("--watch", "then follow them until they end")
    .action(
      wrap(async (ctx, ids: string[], o: { watch?: boolean }) => {
        const sky = ctx.sky();
        const started = Date.now();
        const out: Job[] = [];
        for (const id of ids) out.push(ok(await sky.api.POST("/api/jobs/{id}/retry", { params: { path: { id } } })) as Job);
        if (!o.watch || out.every((j) => isFinal(j.state))) {
          ctx.emit(O.JobListOutput, out, () => ctx.print(table(ctx.out, HEAD, rows(ctx.out, out))));
          return EXIT.ok;
        }
        const final = await followWithBars(ctx, out.map((j) => ({ job_id: j.id, label: j.object_key, total: j.bytes_total })), "retry");
        const code = summarize(ctx, final, started);
        ctx.emit(O.JobListOutput, final, () => undefined);
        return code;
      }),
    );
}
