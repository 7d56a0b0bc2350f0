import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { MongoClient } from "mongodb";

const repo = resolve(import.meta.dirname, "../..");

/**
 * A FerretDB of the test's own over the stack's PostgreSQL (`scripts/stack.sh ferretdb <port>`):
 * the same data as the stack's FerretDB, on another port, so a fault test can kill it (SIGKILL) and
 * start it again without breaking the other tests, which use the stack's own.
 */
export interface PrivateFerretDb {
  url: string;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (the stack's script), once it answers. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Why the stack cannot lend a FerretDB of a test's own (a mongod or an external MongoDB), or undefined when it can. */
export function privateFerretDbUnavailable(): string | undefined {
  const dir = process.env.SKYFERRY_STACK_DIR ?? resolve(repo, ".stack");
  const config = resolve(dir, "config");
  if (!existsSync(config)) return `no stack config at ${config}`;
  const mongo = /\smongo=(\S+)/.exec(readFileSync(config, "utf8"))?.[1] ?? "";
  return /^ferretdb:\d+\/postgresql\/\d+$/.test(mongo) ? undefined : `the stack's MongoDB is ${mongo}, not FerretDB on PostgreSQL`;
}

export async function startPrivateFerretDb(): Promise<PrivateFerretDb> {
  const port = await freePort();
  const url = `mongodb://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const output: string[] = [];
  const start = async () => {
    const c = spawn("bash", [resolve(repo, "scripts/stack.sh"), "ferretdb", String(port)], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    // Not left running when the test process ends without closing it (it is no server of the stack's).
    const orphan = () => c.kill("SIGKILL");
    process.once("exit", orphan);
    c.once("exit", () => process.removeListener("exit", orphan));
    c.stdout!.on("data", (b: Buffer) => output.push(b.toString()));
    c.stderr!.on("data", (b: Buffer) => output.push(b.toString()));
    for (const deadline = Date.now() + 30_000; ; ) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`FerretDB (stack.sh ferretdb ${port}) exited: ${output.join("").slice(-2000)}`);
      if (await answers(url)) return;
      if (Date.now() > deadline) throw new Error(`FerretDB on ${port} did not answer within 30 s: ${output.join("").slice(-2000)}`);
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
  return { url, kill, start, close: kill };
}

async function answers(url: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}
