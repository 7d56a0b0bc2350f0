import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmdirSync, statfsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { api, createS3Bucket, independentS3, removeS3Buckets, sha256, waitForJobs } from "../support/send.ts";
import { type SendWorld, startSendWorld } from "../support/send-system.ts";

// Issue 25, case 5: the disk holding the dataset store fills up during a get. The test mounts a
// small tmpfs (22 MiB) as the dataset store of the services it starts and gets 8 objects of 5 MiB
// into a history: the first ones fit, the others cannot. Those end `error` with
// DATASET_STORE_FULL naming ENOSPC (on the job and on the history item), none half-written is
// marked ok, the partial files are removed (the space they took is free again), and the items that
// fit are ok with the object's bytes. Mounting needs root (CAP_SYS_ADMIN): without it the test
// skips and says so.

const MiB = 1024 * 1024;
const FS_BYTES = 22 * MiB;
const OBJECTS = 8;
const SIZE = 5 * MiB;

function mountSmallDisk(): { dir: string; skip?: undefined } | { dir?: undefined; skip: string } {
  const dir = mkdtempSync(join(tmpdir(), "skyferry-full-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${FS_BYTES},mode=0755`, "tmpfs", dir], { stdio: "pipe" });
    return { dir };
  } catch (err) {
    rmdirSync(dir);
    return { skip: `mounting a ${FS_BYTES / MiB} MiB tmpfs was refused (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}); it needs root` };
  }
}

const disk = mountSmallDisk();
if (disk.skip) console.warn(`\n!!! SKIPPED test/fault/disk-full.test.ts: ${disk.skip}\n`);
const unmount = () => {
  if (!disk.dir) return;
  try {
    execFileSync("umount", [disk.dir], { stdio: "pipe" });
    rmdirSync(disk.dir);
  } catch {
    // already unmounted
  }
};
process.once("exit", unmount);

/** Every file below `dir`, with its size. */
function files(dir: string): Array<{ path: string; size: number }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath, e.name), size: statSync(join(e.parentPath, e.name)).size }));
}

describe("the dataset store's disk full during a get", { skip: disk.skip ? `SKIPPED: ${disk.skip}` : false }, () => {
  let w: SendWorld;
  const buckets: string[] = [];
  before(async () => {
    w = await startSendWorld({ label: "fault-disk", allEnv: { DATASET_STORE_DIR: disk.dir! }, transferEnv: { TRANSFER_CONCURRENCY: "2" } });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    await w?.close();
    unmount();
  });

  test(`${OBJECTS} x 5 MiB into a ${FS_BYTES / MiB} MiB file system: those that fit ok, the others error DATASET_STORE_FULL (ENOSPC), no partial file left`, async () => {
    const user = await w.user();
    const authzId = await w.authz(user, "s3");
    const bucket = `fault-disk-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const objects = Array.from({ length: OBJECTS }, (_, i) => ({ key: `o${i}.bin`, body: randomBytes(SIZE) }));
    for (const o of objects) await independentS3().send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body }));
    const digests = new Map(objects.map((o) => [o.key, sha256(o.body)]));
    const hist = await w.history(user, "full disk");
    const t0 = performance.now();
    const res = await api<Array<{ job_id: string }>>(w.sys.url, "/api/cloud/storage/get", {
      key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket, objects: objects.map((o) => o.key) },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const jobs = await waitForJobs(w.sys.url, user.apiKey, res.body.map((i) => i.job_id), 120_000, 200);
    const ok = jobs.filter((j) => j.state === "ok");
    const failed = jobs.filter((j) => j.state !== "ok");
    console.log(`| dataset store full (${FS_BYTES / MiB} MiB tmpfs), get of ${OBJECTS} x 5 MiB | ${ok.length} ok / ${failed.length} error | all final ${Math.round(performance.now() - t0)} ms after the get |`);
    const fits = Math.floor(FS_BYTES / SIZE);
    assert.ok(ok.length >= 1 && ok.length <= fits, `${ok.length} ok: between 1 and the ${fits} that fit`);
    for (const j of failed) {
      assert.equal(j.state, "error", j.id);
      assert.equal(j.error?.code, "DATASET_STORE_FULL", JSON.stringify(j.error));
      assert.match(j.error?.message ?? "", /ENOSPC/);
      assert.equal(j.attempts, 1, "a full disk is not retried");
    }

    // Every item: ok with the object's bytes, or error saying the store is full; none half-written ok.
    const items = await api<Array<{ id: string; name: string; state: string; misc_info: string | null }>>(w.sys.url, `/api/histories/${hist.id}/contents?keys=id,name,state,misc_info`, { key: user.apiKey });
    assert.equal(items.body.length, OBJECTS);
    for (const i of items.body) {
      if (i.state === "ok") {
        const bytes = Buffer.from(await (await fetch(`${w.sys.url}/api/datasets/${i.id}/display`, { headers: { "x-api-key": user.apiKey } })).arrayBuffer());
        assert.equal(sha256(bytes), digests.get(i.name), `${i.name} as displayed`);
      } else {
        assert.equal(i.state, "error", i.name);
        assert.match(i.misc_info ?? "", /dataset store is full \(ENOSPC/, i.name);
      }
    }
    assert.equal(items.body.filter((i) => i.state === "ok").length, ok.length);

    // The partial files are gone, and the space they held with them.
    const left = files(disk.dir!);
    assert.deepEqual(left.filter((f) => f.path.includes(".tmp-")), [], "no temporary file left");
    assert.deepEqual(left.map((f) => f.size), ok.map(() => SIZE), "one file per ok item, nothing else");
    const fs = statfsSync(disk.dir!);
    const used = (fs.blocks - fs.bfree) * fs.bsize;
    assert.ok(used <= ok.length * SIZE + MiB, `${used} bytes used for ${ok.length} x ${SIZE}: the failed writes' space was released`);
  });
});
