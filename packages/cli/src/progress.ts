import cliProgress from "cli-progress";
import type { Colors, Io } from "./context.ts";
import { bytes, seconds } from "./format.ts";

/** Bytes per second over the last few seconds (a moving window, so a stall shows as a falling rate). */
class Rate {
  private samples: Array<[number, number]> = [];
  private readonly windowMs: number;
  constructor(windowMs = 5000) {
    this.windowMs = windowMs;
  }
  add(done: number, now = Date.now()): void {
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0]![0] > this.windowMs) this.samples.shift();
  }
  perSecond(): number {
    if (this.samples.length < 2) return 0;
    const [t0, d0] = this.samples[0]!;
    const [t1, d1] = this.samples.at(-1)!;
    return t1 > t0 ? ((d1 - d0) * 1000) / (t1 - t0) : 0;
  }
}

interface Item {
  label: string;
  done: number;
  total: number;
  rate: Rate;
  bar: cliProgress.SingleBar | undefined;
}

const BAR = 24;
const LABEL = 28;

/**
 * Live progress on stderr: one bar per running item (a job, an upload) and an overall bar with
 * bytes, rate and ETA. Nothing is drawn when stderr is not a terminal (or with --json): the
 * summary alone is printed then.
 */
export class TransferBars {
  private readonly items = new Map<string, Item>();
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly overall: cliProgress.SingleBar | undefined;
  private readonly overallRate = new Rate();
  private finished = 0;
  private readonly c: Colors;
  private readonly title: string;

  constructor(io: Io, c: Colors, opts: { enabled: boolean; title: string }) {
    this.c = c;
    this.title = opts.title;
    if (!opts.enabled || !io.stderr.isTTY) return;
    this.multi = new cliProgress.MultiBar(
      { stream: io.stderr, hideCursor: true, clearOnComplete: false, stopOnComplete: false, fps: 8, autopadding: false, linewrap: false, format: (_o, params, payload) => this.render(params.value, params.total, payload as { key: string }) },
      cliProgress.Presets.shades_classic,
    );
    this.overall = this.multi.create(1, 0, { key: "" });
  }

  /** Declares an item (its size may still be 0 = unknown); its bar appears once it runs. */
  add(id: string, label: string, total: number): void {
    if (!this.items.has(id)) this.items.set(id, { label, done: 0, total, rate: new Rate(), bar: undefined });
    this.refreshOverall();
  }

  /** Progress of a running item. */
  update(id: string, done: number, total?: number): void {
    const it = this.items.get(id);
    if (!it) return;
    it.done = done;
    if (total !== undefined && total > 0) it.total = total;
    it.rate.add(done);
    if (!it.bar && this.multi) it.bar = this.multi.create(Math.max(it.total, 1), done, { key: id });
    it.bar?.setTotal(Math.max(it.total, 1));
    it.bar?.update(done, { key: id });
    this.refreshOverall();
  }

  /** The item ended: its bar goes, a line above the bars says how. */
  finish(id: string, state: string, detail = ""): void {
    const it = this.items.get(id);
    if (!it) return;
    if (state === "ok") it.done = it.total;
    this.finished++;
    if (it.bar) this.multi?.remove(it.bar);
    it.bar = undefined;
    const mark = state === "ok" ? this.c.green("✔") : this.c.red("✖");
    // Erase the line first: cli-progress clears only the first of several lines logged in one frame,
    // and a removed bar's text would show through the end of a shorter line.
    this.multi?.log(`\u001b[2K${mark} ${it.label} ${this.c.dim(`${bytes(it.total)}${detail ? `  ${detail}` : ""}`)}\n`);
    this.refreshOverall();
  }

  stop(): void {
    this.refreshOverall();
    // stop() draws the bars but not the lines logged since the last frame: draw one more frame first.
    this.multi?.update();
    this.multi?.stop();
  }

  private refreshOverall(): void {
    if (!this.overall) return;
    let done = 0;
    let total = 0;
    for (const it of this.items.values()) {
      done += it.done;
      total += it.total;
    }
    this.overallRate.add(done);
    this.overall.setTotal(Math.max(total, 1));
    this.overall.update(done, { key: "" });
  }

  private render(value: number, total: number, payload: { key: string }): string {
    const c = this.c;
    const overall = payload.key === "";
    const it = overall ? undefined : this.items.get(payload.key);
    const rate = overall ? this.overallRate.perSecond() : (it?.rate.perSecond() ?? 0);
    const ratio = total > 0 ? Math.min(1, value / total) : 0;
    const full = Math.round(ratio * BAR);
    const bar = (overall ? c.cyan : c.green)("█".repeat(full)) + c.dim("░".repeat(BAR - full));
    const eta = rate > 0 ? seconds((total - value) / rate) : "-";
    const name = overall ? `${this.title} ${this.finished}/${this.items.size}` : (it?.label ?? "");
    // Padded before colouring: escape sequences have no width.
    const label = (name.length > LABEL ? `…${name.slice(-(LABEL - 1))}` : name).padEnd(LABEL);
    const speed = rate > 0 ? `${bytes(rate)}/s` : "-/s";
    return `${overall ? c.bold(label) : label} ${bar} ${String(Math.floor(ratio * 100)).padStart(3)}% ${bytes(value)}/${bytes(total)} ${speed} ETA ${eta}`;
  }
}
