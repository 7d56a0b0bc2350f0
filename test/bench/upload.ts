// `npm run bench:upload`: one 1 GiB file uploaded with curl (multipart) through the gateway into
// the history service and its file dataset store, beside two references on the same machine and
// disk: `cp` of the file (+ fsync), and `curl -T` of the file to a bare Node sink writing to disk.
// Prints throughput and the history service's peak RSS (VmHWM of its own process).
// Needs the stack (`npm run stack -- up`). Not part of `npm test`. The history service runs as a
// separate process (server.ts, default settings); authz and the gateway run in this process.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { natsEnv, stackEnv } from "../support/stack-env.ts";
import { startSystem } from "../support/system.ts";

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_UPLOAD_MB ?? 1024) * MiB;
const repo = resolve(import.meta.dirname, "../..");

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });

const peakRssMiB = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

async function makeFile(path: string): Promise<string> {
  const block = randomBytes(MiB);
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  for (let off = 0, i = 0; off < SIZE; off += MiB, i++) {
    block.writeUInt32BE(i, 0);
    hash.update(block);
    if (!out.write(Buffer.from(block))) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise((r) => out.end(r));
  return hash.digest("hex");
}

/** Runs a command asynchronously (the gateway serves from this very event loop). */
function timed(cmd: string, args: string[]): Promise<{ seconds: number; stdout: string }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", rej);
    child.on("close", (code) =>
      code === 0 ? res({ seconds: (performance.now() - t0) / 1000, stdout: Buffer.concat(out).toString() }) : rej(new Error(`${cmd} failed: ${Buffer.concat(err).toString()}`)),
    );
  });
}

async function main(): Promise<void> {
  const stack = stackEnv();
  const work = mkdtempSync(join(tmpdir(), "skyferry-bench-upload-"));
  const storeDir = join(work, "datasets");
  const file = join(work, "upload.bin");
  console.log(`writing a ${SIZE / MiB} MiB test file…`);
  const sha = await makeFile(file);

  console.log("starting authz and the gateway in-process, the history service as its own process…");
  const oidc = await startOidcProvider();
  const token = randomBytes(24).toString("hex");
  const historyPort = await freePort();
  const sys = await startSystem({
    label: "bench-upload",
    services: ["authz", "gateway"],
    env: { authz: oidcEnv(oidc), gateway: { SKYFERRY_HISTORY_URL: `http://127.0.0.1:${historyPort}`, SKYFERRY_INTERNAL_TOKEN: token, LOG_LEVEL: "warn" } },
  });
  const history = spawn(process.execPath, ["--import", "tsx", "services/history/src/server.ts"], {
    cwd: repo,
    stdio: ["ignore", process.env.BENCH_VERBOSE ? "inherit" : "ignore", "inherit"],
    env: {
      ...process.env, PORT: String(historyPort), ...natsEnv("history"), MONGO_URL: stack.mongoUrl, MONGO_DB: sys.db, SKYFERRY_NAMESPACE: sys.namespace,
      SKYFERRY_INTERNAL_TOKEN: token, DATASET_STORE: "file", DATASET_STORE_DIR: storeDir, LOG_LEVEL: process.env.BENCH_VERBOSE ? "debug" : "warn",
    },
  });
  const sink = createServer((req, res) => {
    pipeline(req, createWriteStream(join(work, "sink.bin"), { flush: true })).then(() => res.end("ok"), () => res.destroy());
  });
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${historyPort}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 150) throw new Error("the history service did not become ready");
      await new Promise((r) => setTimeout(r, 200));
    }
    const user = await signIn(sys);
    console.log("uploading…");
    const h = (await (await fetch(`${sys.url}/api/histories`, { method: "POST", headers: { "x-api-key": user.apiKey, "content-type": "application/json" }, body: "{}" })).json()) as { id: string };
    const rssBefore = peakRssMiB(history.pid!);

    const up = await timed("curl", ["-sS", "-f", "-H", `x-api-key: ${user.apiKey}`, "-F", `files=@${file};filename=upload.bin`, `${sys.url}/api/histories/${h.id}/contents`]);
    const body = JSON.parse(up.stdout) as { outputs: Array<{ state: string; file_size: number; hashes: Array<{ hash_function: string; hash_value: string }> }> };
    const d = body.outputs[0]!;
    const stored = d.hashes.find((x) => x.hash_function === "SHA-256")?.hash_value;
    if (d.state !== "ok" || d.file_size !== SIZE || stored !== sha) throw new Error(`upload result wrong: ${JSON.stringify(d)}`);
    const rssPeak = peakRssMiB(history.pid!);

    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
    const curlT = await timed("curl", ["-sS", "-f", "-T", file, sinkUrl]);
    const cp = await timed("sh", ["-c", `cp "${file}" "${join(work, "copy.bin")}" && sync "${join(work, "copy.bin")}"`]);

    const mibs = (s: number) => (SIZE / MiB / s).toFixed(1);
    console.log(`\n1 file of ${SIZE / MiB} MiB, same machine and disk (MiB/s, wall time):`);
    console.log(`  skyferry upload (curl -F -> gateway -> history -> file store): ${mibs(up.seconds)} MiB/s (${up.seconds.toFixed(1)} s), sha256 verified`);
    console.log(`  curl -T to a bare Node sink writing to disk:                  ${mibs(curlT.seconds)} MiB/s (${curlT.seconds.toFixed(1)} s)`);
    console.log(`  cp + sync:                                                    ${mibs(cp.seconds)} MiB/s (${cp.seconds.toFixed(1)} s)`);
    console.log(`history service peak RSS (VmHWM, own process): ${rssPeak.toFixed(0)} MiB (after start-up: ${rssBefore.toFixed(0)} MiB); target < 200 MiB`);
  } finally {
    history.kill("SIGTERM");
    sink.close();
    await sys.close();
    await oidc.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
