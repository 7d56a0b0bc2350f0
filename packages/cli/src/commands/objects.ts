import type { Static } from "@sinclair/typebox";
import { allObjects, type GetItem, ok } from "@skyferry/client/node";
import type { Command } from "commander";
import { EXIT, usage } from "../errors.ts";
import { bytes, table } from "../format.ts";
import { followWithBars, summarize } from "../follow.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import { resolveAuthz, resolveHistory } from "../resolve.ts";

export function registerObjects(program: Command, wrap: Wrap): void {
  program
    .command("ls <location>")
    .description("List a bucket's objects: BUCKET or BUCKET/PREFIX (folders first, unless --recursive)")
    .requiredOption("--authz <authz>", "the cloud authorization (id or description)")
    .option("-r, --recursive", "every object under the prefix, no folders")
    .action(
      wrap(async (ctx, location: string, o: { authz: string; recursive?: boolean }) => {
        const slash = location.indexOf("/");
        const bucket = slash < 0 ? location : location.slice(0, slash);
        const prefix = slash < 0 ? undefined : location.slice(slash + 1);
        if (!bucket) throw usage("give BUCKET or BUCKET/PREFIX");
        const sky = ctx.sky();
        const authz = await resolveAuthz(sky, o.authz);
        const entries: Static<typeof O.ObjectListOutput>["entries"] = [];
        for await (const e of allObjects(sky, { authz_id: authz.id, bucket, ...(prefix ? { prefix } : {}), ...(o.recursive ? {} : { delimiter: "/" }) })) entries.push(e);
        ctx.emit(O.ObjectListOutput, { bucket, prefix: prefix ?? "", entries }, () => {
          ctx.print(table(ctx.out, ["SIZE", "MODIFIED", "KEY"], entries.map((e) => ("prefix" in e ? ["", "", ctx.out.blue(e.prefix)] : [bytes(e.size), e.last_modified ?? "", e.key]))));
        });
      }),
    );
  program
    .command("get [objects...]")
    .description("Copy objects of a bucket (OBJECT… or --prefix) into a history, with live progress, then a summary")
    .requiredOption("--authz <authz>", "the cloud authorization (id or description)")
    .requiredOption("--bucket <bucket>", "the bucket or container")
    .requiredOption("--history <history>", "the history (id or name) the datasets go into")
    .option("--prefix <prefix>", "every object under this prefix")
    .option("--detach", "print the job ids and return at once")
    .action(
      wrap(async (ctx, objects: string[], o: { authz: string; bucket: string; history: string; prefix?: string; detach?: boolean }) => {
        if ((objects.length > 0) === (o.prefix !== undefined)) throw usage("give OBJECT… or --prefix, not both and not neither");
        const sky = ctx.sky();
        const [history, authz] = await Promise.all([resolveHistory(sky, o.history), resolveAuthz(sky, o.authz)]);
        const started = Date.now();
        const items = ok(await sky.api.POST("/api/cloud/storage/get", { body: { history_id: history.id, authz_id: authz.id, bucket: o.bucket, ...(o.prefix !== undefined ? { prefix: o.prefix } : { objects }) } }));
        const queued = items.filter((i): i is Extract<GetItem, { job_id: string }> => "job_id" in i && typeof i.job_id === "string");
        const refused = items.filter((i) => !("job_id" in i) || typeof i.job_id !== "string");
        for (const r of refused) ctx.note(`${ctx.err.red("✖")} ${r.object}: ${"misc_info" in r ? r.misc_info : ""}`);
        if (o.detach) {
          ctx.emit(O.GetDetachedOutput, { history_id: history.id, job_ids: queued.map((q) => q.job_id), items }, () => {
            for (const q of queued) ctx.print(`${q.job_id}  ${q.object}`);
          });
          return refused.length ? EXIT.failed : EXIT.ok;
        }
        const jobs = await followWithBars(ctx, queued.map((q) => ({ job_id: q.job_id, label: q.object, total: 0 })), "get");
        const code = summarize(ctx, jobs, started, refused.length);
        ctx.emit(O.GetOutput, { history_id: history.id, jobs, failed: refused.map((r) => ({ object: r.object, error: ("misc_info" in r ? r.misc_info : null) ?? "" })), ok: code === EXIT.ok }, () => undefined);
        return code;
      }),
    );
}
