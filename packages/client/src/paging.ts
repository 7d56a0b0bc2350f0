import { ok, type Skyferry } from "./client.ts";
import type { CloudObject, Dataset, Job } from "./types.ts";

type JobQuery = { history_id?: string; state?: Job["state"]; order_by?: "create_time" | "update_time" };

/** Every job of the caller matching `query`, newest first, fetched `pageSize` at a time (limit/offset). */
export async function* allJobs(sky: Skyferry, query: JobQuery = {}, pageSize = 200): AsyncGenerator<Job> {
  for (let offset = 0; ; offset += pageSize) {
    const page = ok(await sky.api.GET("/api/jobs", { params: { query: { ...query, limit: pageSize, offset } } }));
    yield* page;
    if (page.length < pageSize) return;
  }
}

/**
 * Every object under `prefix` (and, with a `delimiter`, every common prefix as `{prefix}`),
 * following `next_cursor` until the last page.
 */
export async function* allObjects(
  sky: Skyferry,
  where: { authz_id: string; bucket: string; prefix?: string; delimiter?: string },
  pageSize = 1000,
): AsyncGenerator<CloudObject | { prefix: string }> {
  let cursor: string | undefined;
  do {
    const page = ok(await sky.api.GET("/api/cloud/storage/objects", { params: { query: { ...where, limit: pageSize, ...(cursor ? { cursor } : {}) } } }));
    for (const prefix of page.prefixes) yield { prefix };
    yield* page.objects;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
}

/** Collects an async iterable (e.g. `await collect(allJobs(sky))`). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const i of items) out.push(i);
  return out;
}

/** Every item of a history in hid order, `pageSize` at a time (limit/offset); `keys` selects fields as Galaxy's `keys=`. */
export async function* allDatasets(sky: Skyferry, historyId: string, query: { keys?: string; deleted?: boolean; visible?: boolean } = {}, pageSize = 500): AsyncGenerator<Dataset> {
  for (let offset = 0; ; offset += pageSize) {
    const page = ok(await sky.api.GET("/api/histories/{id}/contents", { params: { path: { id: historyId }, query: { ...query, limit: pageSize, offset } } })) as Dataset[];
    yield* page;
    if (page.length < pageSize) return;
  }
}
