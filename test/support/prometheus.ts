// A real Prometheus (Debian's `prometheus`, installed by scripts/stack/install.sh) scraping the
// given targets every second, on a port of `host`, with a store of its own that close() removes.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface Prometheus {
  url: string;
  /** Resolves once every target in `targets` was scraped successfully after `after` (ms epoch). */
  scrapedAfter(targets: string[], after: number, timeoutMs?: number): Promise<void>;
  /** An instant query; the value of its single sample (0 when it has none). */
  scalar(query: string): Promise<number>;
  close(): Promise<void>;
}

interface TargetsReply { data: { activeTargets: Array<{ scrapeUrl: string; labels: { instance: string }; lastScrape: string; health: string; lastError: string }> } }
interface QueryReply { status: string; data: { resultType: string; result: Array<{ value: [number, string] }> }; error?: string }

/** `targets`: `host:port` of each /metrics listener (all in one job, `skyferry-transfer`). */
export async function startPrometheus(opts: { dir: string; host: string; port: number; targets: string[] }): Promise<Prometheus> {
  mkdirSync(opts.dir, { recursive: true });
  const config = join(opts.dir, "prometheus.yml");
  // JSON is YAML.
  writeFileSync(config, JSON.stringify({
    global: { scrape_interval: "1s", scrape_timeout: "900ms" },
    scrape_configs: [{ job_name: "skyferry-transfer", static_configs: [{ targets: opts.targets }] }],
  }, null, 2));
  const url = `http://${opts.host}:${opts.port}`;
  const child: ChildProcess = spawn("prometheus", [
    `--config.file=${config}`, `--storage.tsdb.path=${join(opts.dir, "data")}`, `--web.listen-address=${opts.host}:${opts.port}`,
    "--storage.tsdb.retention.time=1d", "--log.level=warn",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  const log: string[] = [];
  child.stderr!.on("data", (b: Buffer) => log.push(b.toString("utf8")));
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${url}/-/ready`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${log.join("")}`);
    if (Date.now() > deadline) throw new Error(`prometheus not ready: ${log.join("")}`);
    await sleep(100);
  }
  return {
    url,
    async scrapedAfter(targets, after, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const reply = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as TargetsReply;
        const seen = new Map(reply.data.activeTargets.map((t) => [t.labels.instance, t]));
        const late = targets.filter((t) => {
          const s = seen.get(t);
          return !s || s.health !== "up" || Date.parse(s.lastScrape) <= after;
        });
        if (late.length === 0) return;
        if (Date.now() > until) throw new Error(`prometheus: no fresh scrape of ${late.join(", ")}: ${JSON.stringify(late.map((t) => seen.get(t)))}`);
        await sleep(250);
      }
    },
    async scalar(query) {
      const reply = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as QueryReply;
      if (reply.status !== "success") throw new Error(`prometheus query ${query}: ${reply.error}`);
      if (reply.data.result.length > 1) throw new Error(`prometheus query ${query}: ${reply.data.result.length} samples, expected one`);
      return Number(reply.data.result[0]?.value[1] ?? 0);
    },
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(opts.dir, { recursive: true, force: true });
    },
  };
}
