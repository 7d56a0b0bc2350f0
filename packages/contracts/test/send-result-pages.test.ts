import assert from "node:assert/strict";
import { test } from "node:test";
import { joinSendResultPages, type SendResult, sendResultPages } from "../src/transfer.ts";

const result = (sent: number, failed: number): SendResult => ({
  bucket_name: "b",
  sent: Array.from({ length: sent }, (_, i) => ({ object: `o${i}`, job_id: i.toString(16).padStart(16, "0"), dataset_id: "0".repeat(16), hid: i + 1 })),
  sent_dataset_labels: Array.from({ length: sent }, (_, i) => `s${i}`),
  failed: Array.from({ length: failed }, (_, i) => ({ object: `f${i}`, error: "e" })),
  failed_dataset_labels: Array.from({ length: failed }, (_, i) => `f${i}`),
});
async function* each<T>(xs: Iterable<T>) {
  yield* xs;
}

test("a send's result in pages of at most `size` of each kind, joined back unchanged and in order", async () => {
  for (const [sent, failed] of [[0, 0], [3, 0], [0, 5], [7, 2], [4, 4]] as const) {
    const r = result(sent, failed);
    const pages = [...sendResultPages(r, 3)];
    assert.equal(pages.length, Math.max(1, Math.ceil(Math.max(sent, failed) / 3)), `${sent}/${failed}`);
    for (const p of pages) {
      assert.ok(p.sent.length <= 3 && p.failed.length <= 3);
      assert.equal(p.sent.length, p.sent_dataset_labels.length);
      assert.equal(p.failed.length, p.failed_dataset_labels.length);
    }
    assert.deepEqual(await joinSendResultPages(each(pages)), r);
  }
});
