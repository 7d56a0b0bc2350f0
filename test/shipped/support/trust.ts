import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { captureOutput, stopChild } from "./native-services.ts";

const repo = resolve(import.meta.dirname, "../../..");

/**
 * Runs a deployment's trust maker (scripts/stack/compose-trust.sh, what docker-compose.yml's `trust`
 * service runs) natively, with its container paths (`/trust`, `/out`) mapped to `dir`. Node 24
 * reads the TypeScript permission table itself, as in the image (TRUST_NODE=node).
 */
export function makeTrust(command: string[], dir: string): { state: string; out: string } {
  const state = join(dir, "trust");
  const out = join(dir, "out");
  const args = command.map((a) => (a === "/trust" ? state : a === "/out" ? out : a));
  if (args[0] !== "bash") throw new Error(`the trust command runs bash: ${command.join(" ")}`);
  execFileSync("bash", args.slice(1), { cwd: repo, env: { ...process.env, TRUST_NODE: process.execPath }, stdio: "pipe", timeout: 60_000 });
  return { state, out };
}

/**
 * Starts nats-server natively with a deployment's generated nats.conf: the same users, permissions,
 * TLS and JetStream, its container paths mapped (`paths`), and its listen / monitoring addresses
 * moved to `host` (the container's 0.0.0.0 and 127.0.0.1 are this machine's, already taken by the
 * local stack). Resolves once JetStream is up.
 */
export async function startNats(opts: { conf: string; paths: Record<string, string>; host: string; dir: string }): Promise<{ conf: string; logTail: () => string; close: () => Promise<void> }> {
  let text = readFileSync(opts.conf, "utf8");
  for (const [from, to] of Object.entries(opts.paths)) text = text.replaceAll(`"${from}`, `"${to}`);
  text = text.replace(/^listen: "[^"]*:(\d+)"$/m, `listen: "${opts.host}:$1"`).replace(/^http: "[^"]*:(\d+)"$/m, `http: "${opts.host}:$1"`);
  mkdirSync(opts.dir, { recursive: true });
  const conf = join(opts.dir, "nats.native.conf");
  writeFileSync(conf, text, { mode: 0o600 });
  const monitor = /^http: "([^"]+)"$/m.exec(text)?.[1];
  const child: ChildProcess = spawn("nats-server", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  const logTail = captureOutput(child);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited: ${logTail()}`);
    const ok = await fetch(`http://${monitor}/healthz?js-enabled-only=true`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`nats-server not ready: ${logTail()}`);
    }
    await sleep(100);
  }
  return { conf, logTail, close: () => stopChild(child) };
}
