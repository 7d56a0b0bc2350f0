import { createWriteStream, existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { errorFromText, ok } from "@skyferry/client/node";
import type { Command } from "commander";
import { EXIT, usage } from "../errors.ts";
import { bytes, stateColor, table } from "../format.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import { TransferBars } from "../progress.ts";
import { historyDatasets, resolveHistory } from "../resolve.ts";

export function registerDatasets(program: Command, wrap: Wrap): void {
  const datasets = program.command("datasets").alias("dataset").description("Datasets: ls, download");
  datasets
    .command("ls")
    .description("The datasets of a history")
    .requiredOption("--history <history>", "the history (id or name)")
    .action(
      wrap(async (ctx, opts: { history: string }) => {
        const sky = ctx.sky();
        const h = await resolveHistory(sky, opts.history);
        const all = await historyDatasets(sky, h.id);
        ctx.emit(O.DatasetListOutput, all, () => ctx.print(table(ctx.out, ["HID", "ID", "NAME", "TYPE", "SIZE", "STATE"], all.map((d) => [d.hid ?? "", d.id ?? "", d.name ?? "", d.extension ?? "", bytes(d.file_size ?? 0), stateColor(ctx.out, d.state ?? "")]))));
      }),
    );
  datasets
    .command("download <ids...>")
    .description("Download datasets (by id) to files named as the datasets, with progress")
    .option("-o, --output <dir>", "the folder to write into", ".")
    .option("--force", "replace existing files")
    .action(
      wrap(async (ctx, ids: string[], opts: { output: string; force?: boolean }) => {
        const sky = ctx.sky();
        const bars = new TransferBars(ctx.io, ctx.err, { enabled: !ctx.json, title: "download" });
        const results: Array<{ id: string; path: string; bytes: number }> = [];
        try {
          for (const id of ids) {
            const d = ok(await sky.api.GET("/api/datasets/{id}", { params: { path: { id } } }));
            const name = (d.name ?? id).replace(/[/\\\0]/g, "_");
            const path = join(opts.output, name);
            if (existsSync(path) && !opts.force) throw usage(`${path} exists (--force replaces it)`);
            const res = await sky.fetch(`${sky.baseUrl}/api/datasets/${encodeURIComponent(id)}/display`, { headers: sky.authHeaders() });
            if (!res.ok || !res.body) throw errorFromText(res.status, await res.text().catch(() => ""), res.statusText);
            const total = Number(res.headers.get("content-length") ?? d.file_size ?? 0);
            bars.add(id, name, total);
            let done = 0;
            const counted = Readable.fromWeb(res.body as WebReadableStream).on("data", (c: Buffer) => bars.update(id, (done += c.length), total));
            const tmp = `${path}.skyferry-part`;
            try {
              await pipeline(counted, createWriteStream(tmp));
              await rename(tmp, path);
            } catch (err) {
              await rm(tmp, { force: true });
              throw err;
            }
            bars.finish(id, "ok");
            results.push({ id, path, bytes: done });
          }
        } finally {
          bars.stop();
        }
        ctx.emit(O.DownloadOutput, results, () => ctx.print(table(ctx.out, ["ID", "FILE", "SIZE"], results.map((r) => [r.id, r.path, bytes(r.bytes)]))));
        return EXIT.ok;
      }),
    );
}
