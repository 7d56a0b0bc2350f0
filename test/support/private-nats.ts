import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./private-ferretdb.ts";
import { stackEnv } from "./stack-env.ts";

const repo = resolve(import.meta.dirname, "../..");

/**
 * A nats-server of the test's own, configured as the stack's (scripts/stack.sh up): the same
 * trust material (CA and server certificate, one NKey per identity, the permission table rendered
 * by `scripts/stack/trust.sh render`), on ports of its own with a JetStream store of its own, so a
 * fault test can kill it (SIGKILL) and start it again without breaking the other tests, which use
 * the stack's NATS. The store survives a kill: streams, consumers and messages come back with it.
 */
export interface PrivateNats {
  /** `tls://127.0.0.1:<port>`: SKYFERRY_NATS_URL for the services and workers of the test. */
  url: string;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store, once its JetStream answers. */
  start(): Promise<void>;
  /** Kills it and removes its store. */
  close(): Promise<void>;
}

/** Starts it on free ports, or on `ports` (a bench that names its own). */
export async function startPrivateNats(ports?: { port: number; monitor: number }): Promise<PrivateNats> {
  const { nats } = stackEnv();
  const trust = resolve(nats.seedDir, "..");
  const dir = mkdtempSync(join(tmpdir(), "skyferry-nats-"));
  const [port, monitor] = ports ? [ports.port, ports.monitor] : [await freePort(), await freePort()];
  const conf = join(dir, "nats.conf");
  await promisify(execFile)("bash", [
    resolve(repo, "scripts/stack/trust.sh"), "render", nats.seedDir, conf, "--namespace", "*",
    "--listen", `127.0.0.1:${port}`, "--http", `127.0.0.1:${monitor}`, "--store-dir", join(dir, "store"),
    "--tls-cert", join(trust, "nats-server.pem"), "--tls-key", join(trust, "nats-server-key.pem"),
  ], { cwd: repo });
  let child: ChildProcess | undefined;
  const output: string[] = [];
  const start = async () => {
    const c = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    const orphan = () => c.kill("SIGKILL");
    process.once("exit", orphan);
    c.once("exit", () => process.removeListener("exit", orphan));
    c.stdout!.on("data", (b: Buffer) => output.push(b.toString()));
    c.stderr!.on("data", (b: Buffer) => output.push(b.toString()));
    for (const deadline = Date.now() + 30_000; ; ) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`nats-server on ${port} exited: ${output.join("").slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`nats-server on ${port} not healthy within 30 s: ${output.join("").slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
  };
  await start();
  return {
    url: `tls://127.0.0.1:${port}`,
    kill,
    start,
    close: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
