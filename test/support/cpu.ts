import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// CPU seconds spent by the processes of a benchmark window, read from /proc (Linux), so a bench
// can say where the machine's cores went: the transfer workers, this process, each stack server,
// or the reference tool.

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of one process in seconds; 0 once it is gone. */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** utime + stime of a process, plus those of its children it has waited for (a PostgreSQL server: its finished backends). */
function cpuWithChildren(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** PostgreSQL's CPU: the server and every backend process (one per connection), by pid. */
function postgresCpu(postmaster: number): Map<number, number> {
  const out = new Map<number, number>([[postmaster, cpuWithChildren(postmaster)]]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").startsWith("postgres: ")) out.set(Number(entry), cpuOf(Number(entry)));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The stack's servers by name (radosgw, ceph-osd, ferretdb or mongod, nats-server, postgres): from
 * the stack's own PID files when SKYFERRY_STACK_DIR names it (another checkout's stack may run
 * beside it), else the first process of each kind.
 */
export function stackProcesses(): Record<string, number> {
  const dir = process.env.SKYFERRY_STACK_DIR;
  if (dir && existsSync(join(dir, "pids"))) {
    const found: Record<string, number> = {};
    for (const [name, file] of [["radosgw", "radosgw"], ["ceph-osd", "ceph-osd"], ["ferretdb", "mongo"], ["nats", "nats"], ["postgres", "postgres"]] as const) {
      const pidFile = join(dir, "pids", `${file}.pid`);
      if (existsSync(pidFile)) found[name] = Number(readFileSync(pidFile, "utf8").trim());
    }
    return found;
  }
  const wanted: Array<[string, RegExp]> = [
    ["radosgw", /^radosgw\b/], ["ceph-osd", /^ceph-osd\b/], ["ferretdb", /^ferretdb\b/], ["mongod", /^mongod\b/], ["nats", /^nats-server\b/],
    ["postgres", /^postgres -D /],
  ];
  const found: Record<string, number> = {};
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    } catch {
      continue;
    }
    const base = cmd.replace(/^\S*\//, "");
    for (const [name, re] of wanted) if (!(name in found) && re.test(base)) found[name] = Number(entry);
  }
  return found;
}

export interface CpuWindow {
  /** CPU seconds per named process since `cpuWindow` was called, plus `this process`. */
  stop(extra?: Record<string, number>): Record<string, number>;
}

/** Starts counting the CPU of `pids` (name -> pid) and of this process. */
export function cpuWindow(pids: Record<string, number>): CpuWindow {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuOf(pid)]));
  // `postgres` counts the server with all its backends (backends come and go with connections).
  const pgStart = pids.postgres ? postgresCpu(pids.postgres) : undefined;
  const self = process.cpuUsage();
  return {
    stop(extra = {}) {
      const out: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids)) out[name] = cpuOf(pid) - start[name]!;
      if (pids.postgres && pgStart) {
        let total = 0;
        for (const [pid, now] of postgresCpu(pids.postgres)) total += now - (pgStart.get(pid) ?? 0);
        out.postgres = total;
      }
      const used = process.cpuUsage(self);
      out["this process"] = (used.user + used.system) / 1e6;
      return { ...out, ...extra };
    },
  };
}

/** Runs a command to completion; its wall time and its own CPU seconds (GNU time). */
export function timedCommand(cmd: string, args: string[], env: Record<string, string | undefined>): { seconds: number; cpu: number } {
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "cpu %U %S", cmd, ...args], { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "pipe"] });
  const seconds = (performance.now() - t0) / 1000;
  const stderr = r.stderr?.toString() ?? "";
  if (r.status !== 0) throw new Error(`${cmd} failed: ${stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  return { seconds, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

/** "workers 4.1, radosgw 2.2, …": the non-trivial entries, largest first. */
export function formatCpu(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .filter(([, s]) => s >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${s.toFixed(1)}`)
    .join(", ");
}
