import { ok, type SendRequest } from "@skyferry/client/node";
import { type Command, Option } from "commander";
import { EXIT, usage } from "../errors.ts";
import { bytes, table } from "../format.ts";
import { followWithBars, summarize } from "../follow.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import { historyDatasets, pickDatasets, resolveAuthz, resolveHistory } from "../resolve.ts";

const POLICIES = ["rename", "skip", "fail", "overwrite"] as const;

interface SendOpts {
  history: string;
  authz: string;
  bucket: string;
  dataset?: string[];
  prefix?: string;
  keyTemplate?: string;
  overwritePolicy?: (typeof POLICIES)[number];
  storageClass?: string;
  idempotencyKey?: string;
  dryRun?: boolean;
  detach?: boolean;
}

export function registerSend(program: Command, wrap: Wrap): void {
  program
    .command("send")
    .description("Copy datasets of a history to a bucket (one job per dataset), with live progress, then a summary")
    .requiredOption("--history <history>", "the history (id or name)")
    .requiredOption("--authz <authz>", "the cloud authorization (id or description)")
    .requiredOption("--bucket <bucket>", "the bucket (S3) or container (Azure); it must exist")
    .option("--dataset <dataset...>", "only these datasets (id, hid or name); default every ok dataset")
    .option("--prefix <prefix>", "text put before every key, e.g. results/")
    .option("--key-template <template>", "key template: {history_name} {history_id} {hid} {name} {dataset_id} {ext}")
    .addOption(new Option("--overwrite-policy <policy>", "when the key exists").choices(POLICIES))
    .option("--storage-class <class>", "S3 storage class or Azure access tier")
    .option("--idempotency-key <key>", "the same key returns the same jobs (a retried send never duplicates)")
    .option("--dry-run", "show what would be sent; send nothing")
    .option("--detach", "print the job ids and return at once")
    .action(
      wrap(async (ctx, o: SendOpts) => {
        if (o.prefix !== undefined && o.keyTemplate !== undefined) throw usage("--prefix and --key-template exclude each other (put the prefix into the template)");
        const sky = ctx.sky();
        const [history, authz] = await Promise.all([resolveHistory(sky, o.history), resolveAuthz(sky, o.authz)]);
        const all = await historyDatasets(sky, history.id);
        const chosen = o.dataset ? pickDatasets(all, o.dataset) : all.filter((d) => d.state === "ok");
        const body: SendRequest = {
          history_id: history.id,
          authz_id: authz.id,
          bucket: o.bucket,
          ...(o.dataset ? { dataset_ids: chosen.map((d) => d.id!) } : {}),
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
          ...(o.keyTemplate !== undefined ? { key_template: o.keyTemplate } : {}),
          ...(o.overwritePolicy ? { overwrite_policy: o.overwritePolicy } : {}),
          ...(o.storageClass ? { storage_class: o.storageClass } : {}),
          ...(o.idempotencyKey ? { idempotency_key: o.idempotencyKey } : {}),
        };
        if (o.dryRun) {
          const datasets = chosen.map((d) => ({ id: d.id, hid: d.hid, name: d.name, state: d.state, file_size: d.file_size ?? 0 }));
          ctx.emit(O.SendDryRunOutput, { dry_run: true, request: body, datasets, bytes: datasets.reduce((n, d) => n + d.file_size, 0) }, () => {
            ctx.print(table(ctx.out, ["HID", "DATASET", "NAME", "SIZE", "STATE"], datasets.map((d) => [d.hid ?? "", d.id ?? "", d.name ?? "", bytes(d.file_size), d.state ?? ""])));
            ctx.print(`would send ${datasets.length} datasets (${bytes(datasets.reduce((n, d) => n + d.file_size, 0))}) to ${authz.provider}:${o.bucket}${o.prefix ? ` under ${o.prefix}` : ""}${o.keyTemplate ? ` as ${o.keyTemplate}` : ""}; nothing was sent`);
          });
          return EXIT.ok;
        }
        if (chosen.length === 0) throw usage(`history ${history.id} has no dataset to send`);
        const started = Date.now();
        const result = ok(await sky.api.POST("/api/cloud/storage/send", { body }));
        const sizeOf = new Map(chosen.map((d) => [d.id, d.file_size ?? 0]));
        for (const f of result.failed) ctx.note(`${ctx.err.red("✖")} ${f.object}: ${f.error}`);
        if (o.detach) {
          ctx.emit(O.SendDetachedOutput, { bucket: result.bucket_name, job_ids: result.sent.map((s) => s.job_id), sent: result.sent, failed: result.failed }, () => {
            for (const s of result.sent) ctx.print(`${s.job_id}  ${s.object}`);
          });
          return result.failed.length ? EXIT.failed : EXIT.ok;
        }
        const jobs = await followWithBars(ctx, result.sent.map((s) => ({ job_id: s.job_id, label: s.object, total: sizeOf.get(s.dataset_id) ?? 0 })), "send");
        const code = summarize(ctx, jobs, started, result.failed.length);
        ctx.emit(O.SendOutput, { bucket: result.bucket_name, jobs, failed: result.failed, ok: code === EXIT.ok }, () => undefined);
        return code;
      }),
    );
}
