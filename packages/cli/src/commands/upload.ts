import { basename } from "node:path";
import { statSync } from "node:fs";
import { type Dataset, SkyferryApiError, uploadFile } from "@skyferry/client/node";
import type { Command } from "commander";
import { errorLine, EXIT, usage } from "../errors.ts";
import { bytes, stateColor, table } from "../format.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import { TransferBars } from "../progress.ts";
import { resolveHistory } from "../resolve.ts";

interface Outcome {
  file: string;
  bytes: number;
  ok: boolean;
  datasets: Dataset[];
  error: { err_code: number | string; err_msg: string } | null;
}

export function registerUpload(program: Command, wrap: Wrap): void {
  program
    .command("upload <files...>")
    .description("Upload files into a history, several at once, with progress")
    .requiredOption("--history <history>", "the history (id or name)")
    .option("--parallel <n>", "files at once (hids follow arrival order; 1 keeps the order given)", (v) => Number.parseInt(v, 10), 3)
    .action(
      wrap(async (ctx, files: string[], opts: { history: string; parallel: number }) => {
        if (!Number.isInteger(opts.parallel) || opts.parallel < 1 || opts.parallel > 16) throw usage("--parallel must be 1..16");
        const sizes = files.map((f) => {
          try {
            return statSync(f).size;
          } catch {
            throw usage(`${f}: no such file`);
          }
        });
        const sky = ctx.sky();
        const history = await resolveHistory(sky, opts.history);
        const bars = new TransferBars(ctx.io, ctx.err, { enabled: !ctx.json, title: "upload" });
        files.forEach((f, i) => bars.add(String(i), basename(f), sizes[i]!));
        const outcomes: Outcome[] = new Array(files.length);
        let next = 0;
        const worker = async () => {
          while (next < files.length) {
            const i = next++;
            const file = files[i]!;
            try {
              const datasets = await uploadFile(sky, history.id, file, { onProgress: (p) => bars.update(String(i), Math.min(p.loaded, sizes[i]!), sizes[i]) });
              const bad = datasets.find((d) => d.state !== "ok");
              outcomes[i] = { file, bytes: sizes[i]!, ok: !bad, datasets, error: bad ? { err_code: "UPLOAD_STATE", err_msg: `dataset state ${bad.state}: ${bad.misc_info ?? ""}` } : null };
              bars.finish(String(i), bad ? "error" : "ok");
            } catch (err) {
              if (err instanceof SkyferryApiError && err.status === 401) throw err;
              const [code, ...msg] = errorLine(err).split(": ");
              outcomes[i] = { file, bytes: sizes[i]!, ok: false, datasets: [], error: { err_code: code!, err_msg: msg.join(": ") } };
              bars.finish(String(i), "error", msg.join(": "));
            }
          }
        };
        try {
          await Promise.all(Array.from({ length: Math.min(opts.parallel, files.length) }, worker));
        } finally {
          bars.stop();
        }
        const failed = outcomes.filter((o) => !o.ok).length;
        ctx.emit(O.UploadOutput, { history_id: history.id, uploads: outcomes }, () => {
          ctx.print(table(ctx.out, ["FILE", "SIZE", "DATASET", "HID", "STATE"], outcomes.map((o) => [o.file, bytes(o.bytes), o.datasets[0]?.id ?? "-", o.datasets[0]?.hid ?? "-", o.ok ? stateColor(ctx.out, "ok") : `${stateColor(ctx.out, "error")} ${o.error?.err_code}: ${o.error?.err_msg}`])));
          ctx.print(`${files.length - failed} of ${files.length} uploaded into ${history.id}`);
        });
        return failed ? EXIT.failed : EXIT.ok;
      }),
    );
}
