import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { connect } from "node:net";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Starts our services natively, as a deployment file (docker-compose.yml, deploy/k8s) would start
 * them in a container: the bundled `services/<name>/dist/server.mjs` under plain `node` with the
 * service's node flags, the exact environment the file gives, and the file's host names (nats,
 * mongodb, oidc, history, ...) resolving to loopback addresses where the local stack (or the test)
 * listens. No Docker engine is needed.
 */

export type ServiceName = "gateway" | "authz" | "history" | "transfer";

export interface NativeService {
  name: string;
  /** http://127.0.0.1:<PORT>, the service's HTTP port as env.PORT says. */
  url: string;
  /** The last lines the process wrote (stdout and stderr interleaved). */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 20 s; resolves once the process has exited. */
  close(): Promise<void>;
}

const repo = resolve(import.meta.dirname, "../../..");
const preload = resolve(import.meta.dirname, "hosts-preload.mjs");
/** Variables of this machine a container would get from its image instead: the program search path, a home, and the CA bundle. */
const MACHINE_VARS = ["PATH", "HOME", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "AWS_CA_BUNDLE"];
const TAIL_LINES = 200;

function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(ts|tsx|mts|js|mjs|json)$/.test(entry.name)) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds services/<name>/dist/server.mjs when it is missing or older than any workspace source. */
export function ensureBuilt(service: ServiceName): string {
  const bundle = join(repo, "services", service, "dist", "server.mjs");
  // A service's one-shot command (transfer's provision.ts) is built with it: missing, the build is too old.
  const oneShotMissing = existsSync(join(repo, "services", service, "src", "provision.ts")) && !existsSync(join(repo, "services", service, "dist", "provision.mjs"));
  const built = existsSync(bundle) && !oneShotMissing ? statSync(bundle).mtimeMs : 0;
  const sources = [join(repo, "services", service, "src"), ...readdirSync(join(repo, "packages")).map((p) => join(repo, "packages", p, "src"))];
  if (built === 0 || sources.some((dir) => newestMtime(dir) > built)) {
    execFileSync(process.execPath, [join(repo, "scripts/build-service.mjs"), service], { cwd: repo, stdio: "pipe" });
  }
  return bundle;
}

/** The node flags a service's image runs it with (services/<name>/node-flags, as the Dockerfile reads it). */
function nodeFlags(service: ServiceName): string[] {
  const file = join(repo, "services", service, "node-flags");
  return existsSync(file) ? readFileSync(file, "utf8").split(/\s+/).filter(Boolean) : [];
}

/** The environment a child gets: exactly `env`, the machine's PATH/HOME/CA variables, and the harness's host map. */
export function childEnv(env: Record<string, string>, hosts: Record<string, string>): NodeJS.ProcessEnv {
  const machine: Record<string, string> = {};
  for (const key of MACHINE_VARS) if (process.env[key] !== undefined) machine[key] = process.env[key];
  return { ...machine, ...env, SKYFERRY_TEST_HOSTS: JSON.stringify(hosts) };
}

/** Collects a child's output, keeping the last lines. */
export function captureOutput(child: ChildProcess): () => string {
  const lines: string[] = [];
  const take = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return () => lines.join("\n");
}

/** Whether something accepts connections on 127.0.0.1:<port>. */
export function listening(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

/** Ends a child: SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a Node program (a service bundle, or a script a deployment file runs, such as the OIDC
 * provider) with `args`, exactly `env` (see childEnv) and `hosts` mapped; waits until `ready()` is
 * true. Throws with the log tail if the process exits first or is not ready within `timeoutMs`.
 */
export async function startNode(opts: {
  label: string;
  args: string[];
  env: Record<string, string>;
  hosts: Record<string, string>;
  ready: () => Promise<boolean>;
  timeoutMs?: number;
  cwd?: string;
}): Promise<{ child: ChildProcess; logTail: () => string; close: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", preload, ...opts.args], {
    cwd: opts.cwd ?? repo,
    env: childEnv(opts.env, opts.hosts),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logTail = captureOutput(child);
  const close = () => stopChild(child);
  let exit: string | undefined;
  child.once("exit", (code, signal) => {
    exit = `exited with ${signal ?? `code ${code}`}`;
  });
  child.once("error", (err) => {
    exit = `could not start: ${err.message}`;
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exit) throw new Error(`${opts.label} ${exit} before it was ready; its log:\n${logTail()}`);
    if (await opts.ready().catch(() => false)) return { child, logTail, close };
    if (Date.now() > deadline) {
      await close();
      throw new Error(`${opts.label} not ready within ${opts.timeoutMs ?? 60_000} ms; its log:\n${logTail()}`);
    }
    await sleep(250);
  }
}

/**
 * Runs services/<service>/dist/server.mjs (built with `node scripts/build-service.mjs <service>` if
 * missing/stale) with exactly `env` (plus PATH, HOME and the CA variables the machine exports),
 * with the host names in `hosts` resolving to the given loopback addresses, waits for GET /readyz
 * on env.PORT to answer 200, and throws with the log tail if the process exits or is not ready in
 * time.
 */
export async function startNative(opts: {
  service: ServiceName;
  env: Record<string, string>;
  hosts: Record<string, string>;
  label: string;
  timeoutMs?: number;
}): Promise<NativeService> {
  const port = opts.env.PORT;
  if (!port) throw new Error(`${opts.label}: env.PORT is not set (the harness waits for /readyz on it)`);
  if (await listening(Number(port))) throw new Error(`${opts.label}: something already listens on port ${port} (npm start, or a leftover process?)`);
  const bundle = ensureBuilt(opts.service);
  const url = `http://127.0.0.1:${port}`;
  const started = await startNode({
    label: opts.label,
    args: ["--enable-source-maps", ...nodeFlags(opts.service), bundle],
    env: opts.env,
    hosts: opts.hosts,
    timeoutMs: opts.timeoutMs,
    ready: async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200,
  });
  return { name: opts.service, url, logTail: started.logTail, close: started.close };
}

/**
 * Runs a deployment's one-shot command (compose's `provision` service, the Kubernetes provisioning
 * Job) natively: `node <args>` from the repository with exactly `env` and `hosts` mapped, the
 * image's /app being the repository. Resolves with its log once it exits 0; throws with the log
 * otherwise, or after `timeoutMs`.
 */
export async function runOneShot(opts: { label: string; service: ServiceName; args: string[]; env: Record<string, string>; hosts: Record<string, string>; timeoutMs?: number }): Promise<string> {
  ensureBuilt(opts.service);
  const child = spawn(process.execPath, ["--import", preload, ...opts.args], { cwd: repo, env: childEnv(opts.env, opts.hosts), stdio: ["ignore", "pipe", "pipe"] });
  const logTail = captureOutput(child);
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.once("exit", (c, sig) => done([c, sig])));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${opts.label} exited with ${signal ?? `code ${code}`}; its log:\n${logTail()}`);
  return logTail();
}

/** The Dockerfile's runtime stage ENV for `service`: what a container has before the deployment file's environment. */
export function imageEnv(service: string): Record<string, string> {
  const stage = readFileSync(join(repo, "Dockerfile"), "utf8").split(/^FROM /m).find((s) => /^\S+ AS runtime\b/.test(s)) ?? "";
  const env: Record<string, string> = {};
  for (const [, line] of stage.matchAll(/^ENV (.+)$/gm)) {
    for (const [, k, v] of line!.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[k!] = v!.replace("${SERVICE}", service);
  }
  return env;
}
