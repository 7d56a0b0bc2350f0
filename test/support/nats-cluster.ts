// A 3-node NATS cluster with JetStream on loopback, configured as the stack's NATS is (TLS, one
// NKey user per identity with exactly its permissions: scripts/nats-config.mjs through trust.sh
// `render`), plus the routes between the nodes (mutual TLS). Each node can be killed (SIGKILL) and
// started again on its own store: what a bench or test of node loss needs (issue 22).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { NatsCredentials } from "@skyferry/bus";
import { type StackIdentity, stackEnv } from "./stack-env.ts";

const repo = resolve(import.meta.dirname, "../..");

export interface NatsNode {
  name: string;
  clientUrl: string;
  monitorUrl: string;
  /** Whether its process runs. */
  readonly running: boolean;
  /** Its process id while it runs. */
  readonly pid: number | undefined;
  /** SIGKILL: no goodbye to clients or the other nodes. */
  kill(): Promise<void>;
  /** Starts it again on the same configuration and store; resolves once it is healthy. */
  start(): Promise<void>;
  logTail(): string;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's client URL, comma-separated (SKYFERRY_NATS_URL): clients fail over between them. */
  url: string;
  /** The CA of the nodes' certificate (SKYFERRY_NATS_TLS_CA_FILE). */
  caFile: string;
  /** SKYFERRY_NATS_URL and SKYFERRY_NATS_TLS_CA_FILE for a service connecting to the cluster. */
  env(): Record<string, string>;
  credentials(identity: StackIdentity): NatsCredentials;
  /** Resolves once every running node reports healthy (JetStream current). */
  healthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The loopback address the cluster listens on. Not 127.0.0.1: its ports lie in Linux's ephemeral
 * range, and a socket another process (or a node's own route) opened from 127.0.0.1 can hold the
 * port a killed node must bind again (seen: a route between two nodes took a third's monitor port,
 * for good). Connections to this address come from 127.0.0.1, so none can hold its ports.
 */
export const CLUSTER_HOST = "127.0.47.1";

/**
 * Starts three nodes on CLUSTER_HOST: client ports `basePort`+0..2, monitoring +10..12, routes
 * +20..22 (issue 22 keeps such clusters in 47000-47999). The users are the local stack's
 * identities (its seeds); the CA and the nodes' certificate (with CLUSTER_HOST's IP) are the
 * cluster's own (trust.sh keys), in `dir`, which is removed on close.
 */
export async function startNatsCluster(opts: { dir: string; basePort: number; size?: number }): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const host = CLUSTER_HOST;
  const trust = join(opts.dir, "trust");
  mkdirSync(join(trust, "seeds"), { recursive: true, mode: 0o700 });
  const { seedDir } = stackEnv().nats;
  for (const f of readdirSync(seedDir)) if (/\.(nk|pub)$/.test(f)) copyFileSync(join(seedDir, f), join(trust, "seeds", f));
  // Seeds already there are kept: this makes the CA and the nodes' certificate only.
  execFileSync("bash", [join(repo, "scripts/stack/trust.sh"), "keys", trust], { cwd: repo, stdio: "pipe", timeout: 60_000, env: { ...process.env, TRUST_EXTRA_SANS: `IP:${host}` } });
  const port = (i: number, offset: number) => opts.basePort + offset + i;
  const routes = Array.from({ length: size }, (_, i) => `nats-route://${host}:${port(i, 20)}`);
  const nodes = Array.from({ length: size }, (_, i) => {
    const name = `n${i + 1}`;
    const conf = join(opts.dir, `${name}.conf`);
    execFileSync("bash", [join(repo, "scripts/stack/trust.sh"), "render", join(trust, "seeds"), conf, "--namespace", "*",
      "--listen", `${host}:${port(i, 0)}`, "--http", `${host}:${port(i, 10)}`, "--store-dir", join(opts.dir, name),
      "--tls-cert", join(trust, "nats-server.pem"), "--tls-key", join(trust, "nats-server-key.pem"), "--tls-ca", join(trust, "ca.pem"),
      "--server-name", name, "--cluster-name", "skyferry-test", "--cluster-listen", `${host}:${port(i, 20)}`,
      "--routes", routes.filter((_, j) => j !== i).join(",")], { cwd: repo, stdio: "pipe", timeout: 60_000 });
    return makeNode(name, conf, `tls://${host}:${port(i, 0)}`, `http://${host}:${port(i, 10)}`);
  });
  const cluster: NatsCluster = {
    nodes,
    url: nodes.map((n) => n.clientUrl).join(","),
    caFile: join(trust, "ca.pem"),
    env: () => ({ SKYFERRY_NATS_URL: cluster.url, SKYFERRY_NATS_TLS_CA_FILE: cluster.caFile }),
    credentials: (identity) => ({ tlsCaFile: cluster.caFile, nkeySeedFile: join(trust, "seeds", `${identity}.nk`) }),
    async healthy(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (const n of nodes.filter((x) => x.running)) {
        // /healthz (not js-enabled-only): 503 until this node's JetStream is current with the meta leader.
        // And a meta leader known to it: without one, stream and consumer requests time out.
        const ok = async () => (await fetch(`${n.monitorUrl}/healthz`).then((r) => r.ok, () => false)) &&
          (await fetch(`${n.monitorUrl}/jsz`).then((r) => r.json() as Promise<{ meta_cluster?: { leader?: string } }>, () => ({ meta_cluster: undefined }))).meta_cluster?.leader;
        while (!(await ok())) {
          if (Date.now() > deadline) throw new Error(`NATS node ${n.name} not healthy after ${timeoutMs} ms:\n${n.logTail()}`);
          await sleep(200);
        }
      }
    },
    async close() {
      for (const n of nodes) await n.kill();
      rmSync(opts.dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await cluster.healthy();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

function makeNode(name: string, conf: string, clientUrl: string, monitorUrl: string): NatsNode {
  let child: ChildProcess | undefined;
  const tail: string[] = [];
  const onData = (b: Buffer) => {
    tail.push(...b.toString("utf8").split("\n").filter(Boolean));
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const startOnce = async () => {
    if (running()) return;
    tail.length = 0;
    child = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const deadline = Date.now() + 30_000;
    // The monitor answers once the node listens; JetStream's health is the cluster's (healthy()).
    while (!(await fetch(`${monitorUrl}/healthz?js-enabled-only=true`).then((r) => r.ok, () => false))) {
      if (!running()) {
        await new Promise((r) => setTimeout(r, 50)); // the last log lines
        throw new Error(`nats-server ${name} exited:\n${tail.join("\n")}`);
      }
      if (Date.now() > deadline) throw new Error(`nats-server ${name} did not start:\n${tail.join("\n")}`);
      await sleep(100);
    }
  };
  return {
    name,
    clientUrl,
    monitorUrl,
    get running() {
      return running();
    },
    get pid() {
      return running() ? child!.pid : undefined;
    },
    async kill() {
      if (!child || !running()) return;
      const exited = new Promise((r) => child!.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
    async start() {
      // Its ports lie in Linux's ephemeral range (32768-60999): a client socket of any process may
      // hold one for a moment. Such a start is tried again; anything else fails at once.
      for (let attempt = 1; ; attempt++) {
        try {
          await startOnce();
          return;
        } catch (err) {
          if (attempt >= 10 || !/address already in use/.test(String(err))) throw err;
          await sleep(500);
        }
      }
    },
    logTail: () => tail.join("\n"),
  };
}
