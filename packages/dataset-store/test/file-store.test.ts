import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createFileDatasetStore } from "../src/index.ts";
import { chunked, runDatasetStoreContract } from "./contract-suite.ts";

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
