import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createFileDatasetStore } from "../src/index.ts";
import { TEMP_HOST } from "../src/temp-files.ts";
import { chunked, md5, runDatasetStoreContract, sha256 } from "./contract-suite.ts";

let dir = "";

/** Every `.tmp-*` file below the store's directory. */
async function tempFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.name.startsWith(".tmp-")).map((e) => join(e.parentPath, e.name));
}

runDatasetStoreContract("file", {
  setup: async () => void (dir = await mkdtemp(join(tmpdir(), "sf-dataset-store-"))),
  teardown: () => rm(dir, { recursive: true, force: true }),
  open: ({ readOnly }) => createFileDatasetStore({ dir, readOnly }),
  leftovers: () => tempFiles(dir),
  bigEnough: 3 * 1024 * 1024,
  positionalReads: true,
});

runDatasetStoreContract("file, hashing in 2 threads", {
  setup: async () => void (dir = await mkdtemp(join(tmpdir(), "sf-dataset-store-"))),
  teardown: () => rm(dir, { recursive: true, force: true }),
  open: ({ readOnly }) => createFileDatasetStore({ dir, readOnly, hashThreads: 2 }),
  leftovers: () => tempFiles(dir),
  bigEnough: 3 * 1024 * 1024,
  positionalReads: true,
});

test("the file store keeps key a/b/c as the file <dir>/a/b/c (the layout the transfer workers read)", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sf-dataset-layout-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = await createFileDatasetStore({ dir: join(root, "nested", "store") });
  await store.write("ab/cd/abcdef0123456789", chunked(Buffer.from("layout")));
  assert.equal(await readFile(join(root, "nested", "store", "ab", "cd", "abcdef0123456789"), "utf8"), "layout");
});

test("a read-only file store does not create its directory", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sf-dataset-ro-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = await createFileDatasetStore({ dir: join(root, "absent"), readOnly: true });
  assert.deepEqual(await readdir(root), []);
  assert.equal(await store.stat("x"), null);
});

test("a write removes what dead writers of the same key left, and keeps the files of live writers, of other keys and of other hosts", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sf-dataset-temps-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = await createFileDatasetStore({ dir: root });
  const child = spawn(process.execPath, ["-e", ""]);
  const deadPid = await new Promise<number>((resolve) => child.on("exit", () => resolve(child.pid!)));
  const dir = join(root, "ab", "cd");
  await mkdir(dir, { recursive: true });
  const left = [
    `.tmp-abcd01.${TEMP_HOST}.${deadPid}.0123456789ab`, // a dead writer of this key: removed
    `.tmp-abcd01.${TEMP_HOST}.${process.pid}.0123456789ab`, // this process (another write in flight): kept
    `.tmp-abcd01.${TEMP_HOST}.1.0123456789ab`, // a live process (init): kept
    `.tmp-abcd01.elsewhere.${deadPid}.0123456789ab`, // another host's: kept
    `.tmp-abcd02.${TEMP_HOST}.${deadPid}.0123456789ab`, // another key's: kept
  ];
  for (const n of left) await writeFile(join(dir, n), "partial");
  await store.write("ab/cd/abcd01", chunked(Buffer.from("whole")));
  assert.deepEqual((await readdir(dir)).sort(), ["abcd01", ...left.slice(1)].sort());
  assert.equal(await readFile(join(dir, "abcd01"), "utf8"), "whole");
});

test("with hashing threads, writes told their size (small, large, wrong) store their bytes with the right digests", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "sf-dataset-hint-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const store = await createFileDatasetStore({ dir: root, hashThreads: 2 });
  t.after(() => store.close?.());
  const big = Buffer.alloc(33 * 1024 * 1024 + 7, 3);
  big.writeUInt32BE(0xdeadbeef, 20 * 1024 * 1024);
  const cases: Array<[string, Buffer, number]> = [
    ["empty", Buffer.alloc(0), 0],
    ["small", randomBytes(3 * 1024 * 1024), 3 * 1024 * 1024],
    ["large", big, big.length],
    ["hint too large", randomBytes(2 * 1024 * 1024 + 1), 64 * 1024 * 1024],
    ["hint too small", big, 10],
  ];
  for (const [name, data, expectedSize] of cases) {
    const r = await store.write(`ab/cd/${name.replace(/ /g, "-")}`, chunked(data, 100_000), { expectedSize });
    assert.deepEqual(r, { key: `ab/cd/${name.replace(/ /g, "-")}`, size: data.length, sha256: sha256(data), md5: md5(data) }, name);
  }
});
