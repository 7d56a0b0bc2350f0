import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

/**
 * A nats-server of the caller's own, with the stack's configuration (the same TLS certificate,
 * nkeys and permissions: `.stack/trust/nats.conf`) on other ports and with a JetStream store of
 * its own, so a chaos run can kill it (SIGKILL) and start it again -- its streams on disk survive,
 * as a real server's do -- without touching the stack's NATS or anyone else's.
 */
export interface PrivateNats {
  /** `tls://127.0.0.1:<port>`: what SKYFERRY_NATS_URL names. */
  url: string;
  kill(): Promise<void>;
  /** Starts it again on the same ports and store, once it accepts connections. */
  start(): Promise<void>;
  /** Kills it and removes its store. */
  close(): Promise<void>;
}

/** Why there is no private NATS to be had, or undefined. */
export function privateNatsUnavailable(): string | undefined {
  const conf = resolve(process.env.SKYFERRY_STACK_DIR ?? resolve(repo, ".stack"), "trust/nats.conf");
  return existsSync(conf) ? undefined : `no stack NATS configuration at ${conf}`;
}

export async function startPrivateNats(port: number, monitorPort: number): Promise<PrivateNats> {
  const conf = readFileSync(resolve(process.env.SKYFERRY_STACK_DIR ?? resolve(repo, ".stack"), "trust/nats.conf"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "skyferry-private-nats-"));
  const own = conf
    .replace(/^listen:.*$/m, `listen: "127.0.0.1:${port}"`)
    .replace(/^http:.*$/m, `http: "127.0.0.1:${monitorPort}"`)
    .replace(/jetstream\s*\{[^}]*\}/, `jetstream { store_dir: "${join(dir, "js")}" }`);
  if (!own.includes(`127.0.0.1:${port}`) || !own.includes(join(dir, "js"))) throw new Error("private NATS: the stack's nats.conf has an unexpected shape");
  const file = join(dir, "nats.conf");
  writeFileSync(file, own);
  let child: ChildProcess | undefined;
  const output: string[] = [];
  const start = async () => {
    const c = spawn("nats-server", ["-c", file], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    const orphan = () => c.kill("SIGKILL");
    process.once("exit", orphan);
    c.once("exit", () => process.removeListener("exit", orphan));
    c.stdout!.on("data", (b: Buffer) => output.push(b.toString()));
    c.stderr!.on("data", (b: Buffer) => output.push(b.toString()));
    for (const deadline = Date.now() + 20_000; ; ) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`nats-server on ${port} exited: ${output.join("").slice(-2000)}`);
      // "Server is ready" comes after JetStream has read its store.
      if (output.join("").includes("Server is ready") && (await accepts(port))) return;
      if (Date.now() > deadline) throw new Error(`nats-server on ${port} not ready within 20 s: ${output.join("").slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
    output.length = 0;
  };
  await start();
  return {
    url: `tls://127.0.0.1:${port}`,
    kill,
    start,
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      r(true);
    });
    s.once("error", () => r(false));
  });
}
