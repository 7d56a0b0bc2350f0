import { ok } from "@skyferry/client/node";
import type { Command } from "commander";
import { bytes, stateColor, table } from "../format.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import { historyDatasets, resolveHistory } from "../resolve.ts";

export function registerHistories(program: Command, wrap: Wrap): void {
  const histories = program.command("histories").alias("history").description("Histories: ls, create, show, rm");
  histories
    .command("ls")
    .description("Your histories")
    .action(
      wrap(async (ctx) => {
        const all = ok(await ctx.sky().api.GET("/api/histories", { params: { query: { keys: "id,name,count,size,update_time,deleted" } } }));
        ctx.emit(O.HistoryListOutput, all, () => ctx.print(table(ctx.out, ["ID", "NAME", "DATASETS", "SIZE", "UPDATED"], all.map((h) => [h.id ?? "", h.name ?? "", h.count ?? 0, bytes(h.size ?? 0), h.update_time ?? ""]))));
      }),
    );
  histories
    .command("create <name>")
    .description("Create a history")
    .action(
      wrap(async (ctx, name: string) => {
        const h = ok(await ctx.sky().api.POST("/api/histories", { body: { name } }));
        ctx.emit(O.HistoryOutput, h, () => ctx.print(`${ctx.out.green("✔")} created history ${h.id} ${JSON.stringify(h.name)}`));
      }),
    );
  histories
    .command("show <history>")
    .description("A history (id or name) and its datasets")
    .action(
      wrap(async (ctx, given: string) => {
        const sky = ctx.sky();
        const h = await resolveHistory(sky, given);
        const datasets = await historyDatasets(sky, h.id);
        ctx.emit(O.HistoryShowOutput, { history: h, datasets }, () => {
          // The datasets' own sizes: a history's `size` is Galaxy's disk usage, which may lag.
          ctx.print(`${ctx.out.bold(h.name ?? "")}  ${h.id}  ${datasets.length} datasets, ${bytes(datasets.reduce((n, d) => n + (d.file_size ?? 0), 0))}`);
          ctx.print(table(ctx.out, ["HID", "ID", "NAME", "TYPE", "SIZE", "STATE"], datasets.map((d) => [d.hid ?? "", d.id ?? "", d.name ?? "", d.extension ?? "", bytes(d.file_size ?? 0), stateColor(ctx.out, d.state ?? "")])));
        });
      }),
    );
  histories
    .command("rm <history>")
    .description("Delete a history (id or name)")
    .option("--purge", "also remove its datasets' bytes")
    .action(
      wrap(async (ctx, given: string, opts: { purge?: boolean }) => {
        const sky = ctx.sky();
        const h = await resolveHistory(sky, given);
        const gone = ok(await sky.api.DELETE("/api/histories/{id}", { params: { path: { id: h.id }, query: { purge: !!opts.purge } } }));
        ctx.emit(O.HistoryOutput, gone, () => ctx.print(`${ctx.out.green("✔")} deleted history ${h.id}${opts.purge ? " (purged)" : ""}`));
      }),
    );
}
