import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { createHashPool } from "../src/hash-pool.ts";

const digests = (b: Buffer) => ({ sha256: createHash("sha256").update(b).digest("hex"), md5: createHash("md5").update(b).digest("hex") });

test("hash pool sessions of every size, interleaved over two threads, give the digests of their bytes", async (t) => {
  const pool = createHashPool(2);
  t.after(() => pool.close());
  const sizes = [0, 1, 100_000, 1024 * 1024, 1024 * 1024 + 1, 5 * 1024 * 1024 + 333];
  const datas = sizes.map((n) => randomBytes(n));
  const sessions = datas.map(() => pool.session());
  // Chunks of uneven sizes, the sessions' chunks interleaved, honouring each session's backpressure.
  const offsets = datas.map(() => 0);
  for (let round = 0; offsets.some((o, i) => o < datas[i]!.length); round++) {
    for (const [i, data] of datas.entries()) {
      if (offsets[i]! >= data.length) continue;
      const n = Math.min(data.length - offsets[i]!, 7_000 + ((round * 7919 + i * 104_729) % 700_000));
      await sessions[i]!.update(data.subarray(offsets[i]!, offsets[i]! + n));
      offsets[i]! += n;
    }
  }
  const got = await Promise.all(sessions.map((s) => s.digest()));
  assert.deepEqual(got, datas.map(digests));
});

test("a session asks its caller to wait while four batches are in flight, and an aborted session leaves the others intact", async (t) => {
  const pool = createHashPool(1);
  t.after(() => pool.close());
  const big = randomBytes(6 * 1024 * 1024);
  const waiting = pool.session();
  const wait = waiting.update(big);
  assert.ok(wait instanceof Promise, "six batches at once: wait");
  await wait;
  const dropped = pool.session();
  await dropped.update(randomBytes(3 * 1024 * 1024));
  dropped.abort();
  const other = pool.session();
  const data = randomBytes(2 * 1024 * 1024 + 5);
  await other.update(data);
  assert.deepEqual(await other.digest(), digests(data));
  assert.deepEqual(await waiting.digest(), digests(big));
});

test("a closed pool fails its open sessions instead of hanging", async () => {
  const pool = createHashPool(1);
  const s = pool.session();
  await s.update(randomBytes(2 * 1024 * 1024));
  await pool.close();
  await assert.rejects(s.digest(), /hashing thread|closed/);
  assert.throws(() => pool.session(), /closed/);
});

test("a stream being hashed keeps the process alive until its digest; an idle pool does not keep it alive", async () => {
  const src = new URL("../src/hash-pool.ts", import.meta.url).href;
  // Top-level await on the digest: exits 13 if the process may end while the thread still hashes,
  // and never exits (killed at the timeout) if the idle threads hold it.
  const code = `const { createHashPool } = await import(${JSON.stringify(src)});
const s = createHashPool(2).session();
await s.update(Buffer.alloc(3 * 1024 * 1024, 1));
const d = await s.digest();
console.log(d.md5);`;
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { timeout: 20_000, encoding: "utf8" });
  assert.equal(r.signal, null, "the process ended on its own");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), digests(Buffer.alloc(3 * 1024 * 1024, 1)).md5);
});
