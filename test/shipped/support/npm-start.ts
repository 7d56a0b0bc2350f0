import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

/**
 * `npm start` as a person runs it: `bash scripts/start.sh` from the repository root, with the
 * caller's environment as their shell has it (no service settings added), in a process group of
 * its own so that Ctrl-C (SIGINT to the group, as a terminal sends it) reaches it and everything it
 * started in the foreground.
 */
export interface NpmStart {
  /** The gateway as start.sh prints it: http://localhost:8080. */
  url: string;
  /** Everything start.sh wrote so far (stdout and stderr interleaved). */
  output(): string;
  /**
   * Ctrl-C: SIGINT to the process group; resolves with the exit code once start.sh has exited,
   * or rejects (after SIGKILL to the group) when it has not exited within `timeoutMs`.
   */
  interrupt(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL to the whole group, when it is still there (for `after` hooks). */
  kill(): void;
  /** start.sh's exit code once it has exited, else undefined. */
  exitCode(): number | null | undefined;
  /** The process group start.sh and everything it started run in. */
  pgid: number;
}

const repo = resolve(import.meta.dirname, "../../..");
/** A copy of start.sh's output, kept after the run for whoever reads the test results. */
export const LOG = resolve(repo, ".test-results", "shipped-npm-start.log");

/**
 * Variables only a test runner sets; a person's shell has none of them. Settings a person might
 * have (PORT, SKYFERRY_OIDC_PROVIDERS, ...) are not touched here: the test asserts they are unset.
 */
const RUNNER_ONLY = ["NODE_TEST_CONTEXT", "NODE_CHANNEL_FD", "NODE_CHANNEL_SERIALIZATION_MODE"];

/** Starts `bash scripts/start.sh` and resolves once it prints "skyferry is up" (rejects with its output if it exits first). */
export async function npmStart(opts: { timeoutMs?: number } = {}): Promise<NpmStart> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of RUNNER_ONLY) delete env[name];
  const child: ChildProcess = spawn("bash", ["scripts/start.sh"], { cwd: repo, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const chunks: string[] = [];
  const output = () => chunks.join("");
  let up: () => void = () => undefined;
  const isUp = new Promise<void>((r) => (up = r));
  mkdirSync(dirname(LOG), { recursive: true });
  writeFileSync(LOG, "");
  const onData = (b: Buffer) => {
    chunks.push(b.toString("utf8"));
    appendFileSync(LOG, b);
    if (output().includes("skyferry is up")) up();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) => child.once("exit", (code, signal) => r(code ?? (signal ? 128 : null))));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  const pid = child.pid!;
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone already
    }
  };

  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  const outcome = await Promise.race([isUp.then(() => "up" as const), exited.then(() => "exited" as const), timedOut]).finally(() => clearTimeout(timer));
  if (outcome !== "up") {
    group("SIGKILL");
    throw new Error(`scripts/start.sh ${outcome === "exited" ? `exited (code ${String(exitCode)})` : `did not print "skyferry is up" within ${timeoutMs} ms`} before it was up; its output:\n${output()}`);
  }
  const url = /skyferry is up: gateway (\S+)/.exec(output())?.[1] ?? "http://localhost:8080";

  return {
    url,
    output,
    async interrupt(ms = 60_000) {
      group("SIGINT");
      const deadline = sleep(ms, undefined, { ref: false }).then(() => "timeout" as const);
      const result = await Promise.race([exited, deadline]);
      if (result === "timeout") {
        group("SIGKILL");
        throw new Error(`scripts/start.sh did not exit within ${ms} ms of SIGINT; its output:\n${output()}`);
      }
      return result;
    },
    exitCode: () => exitCode,
    pgid: pid,
    kill() {
      // Even after start.sh has exited, a service it left behind would still be in the group.
      group("SIGKILL");
    },
  };
}

/**
 * The process group of whoever listens on 127.0.0.1:`port` (from `ss`), or undefined when nobody
 * does; tells npm start's own services from another program's on the same fixed port.
 */
export function listenerGroup(port: number): { pid: number; pgid: number; args: string } | undefined {
  const out = execFileSync("ss", ["-Hltnp", `sport = :${port}`], { encoding: "utf8" });
  const pid = Number(/pid=(\d+)/.exec(out)?.[1] ?? NaN);
  if (!Number.isInteger(pid)) return undefined;
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so cut after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    return { pid, pgid, args };
  } catch {
    return undefined;
  }
}

const run = promisify(execFile);

/** Whether anything answers HTTP on 127.0.0.1:`port`. */
export async function answers(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(() => true, () => false);
}

/** `curl` as the seed's reader would run it: status and body of one request. */
export async function curl(args: string[]): Promise<{ status: number; body: unknown; text: string }> {
  const { stdout } = await run("curl", ["-sS", "-w", "\n%{http_code}", ...args], { maxBuffer: 16 * 1024 * 1024 });
  const cut = stdout.lastIndexOf("\n");
  const text = stdout.slice(0, cut);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: Number(stdout.slice(cut + 1)), body, text };
}
