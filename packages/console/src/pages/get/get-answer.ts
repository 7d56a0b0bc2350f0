import type { RpcResponse, TransferGetPlan } from "@skyferry/contracts";

/** What the get page shows: the queued items, the objects that failed, the bucket. */
export type GetResult = RpcResponse<typeof TransferGetPlan>;

/** One entry of Galaxy's get answer: a queued item, or (id null, state `error`) an object not fetched. */
export type GetAnswerItem = (GetResult["items"][number] & { misc_info?: string | null }) | { id: null; object: string; state: "error"; misc_info: string };

/** `POST /api/cloud/storage/get` answers Galaxy's array (issue 20); the page works on items and failures. */
export function fromGetAnswer(answer: GetAnswerItem[], bucket: string): GetResult {
  const items: GetResult["items"] = [];
  const failed: GetResult["failed"] = [];
  for (const entry of answer) {
    if (entry.id === null) failed.push({ object: entry.object, error: entry.misc_info });
    else items.push(entry as GetResult["items"][number]);
  }
  return { items, failed, bucket_name: bucket };
}
