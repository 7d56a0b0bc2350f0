import type { GetItem } from "@skyferry/client/browser";
import type { RpcResponse, TransferGetPlan } from "@skyferry/contracts";

/** What the get page shows: the queued items, the objects that failed, the bucket. */
export type GetResult = RpcResponse<typeof TransferGetPlan>;

/** One entry of Galaxy's get answer (the SDK's type): a queued item, or (id and job_id null, state `error`) an object not fetched. */
export type GetAnswerItem = GetItem;

/** `POST /api/cloud/storage/get` answers Galaxy's array (issue 20); the page works on items and failures. */
export function fromGetAnswer(answer: GetAnswerItem[], bucket: string): GetResult {
  const items: GetResult["items"] = [];
  const failed: GetResult["failed"] = [];
  for (const entry of answer) {
    // A queued item has its job; a refused object has none (null: the generated type leaves it out).
    if ("job_id" in entry && typeof entry.job_id === "string" && typeof entry.id === "string") items.push({ ...entry, id: entry.id, job_id: entry.job_id });
    else failed.push({ object: entry.object, error: entry.misc_info ?? "" });
  }
  return { items, failed, bucket_name: bucket };
}
