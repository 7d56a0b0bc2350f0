// What bench:scale verifies after each send: none lost, none duplicated, none stuck, every object
// the dataset's bytes.
import { createHash } from "node:crypto";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { Collection } from "mongodb";

export interface RunCheck {
  jobs: number;
  ok: number;
  /** Jobs ended error or deleted, and datasets with no object. */
  lost: number;
  /** Objects beyond one per dataset (e.g. renamed copies), and job documents beyond one per dataset. */
  duplicated: number;
  /** Jobs not ended when the bench stopped waiting. */
  stuck: number;
  /** Objects whose bytes differ from their dataset's. */
  corrupt: number;
  /** Bytes of the objects found (the datasets' sizes when all is well). */
  bytesMoved: number;
  clean: boolean;
}

export async function checkRun(o: {
  s3: S3Client;
  jobs: Collection<{ _id: string; state: string; bucket: string; update_time?: Date }>;
  bucket: string;
  ids: string[];
  expected: Array<{ key: string; sha: string; size: number }>;
}): Promise<RunCheck> {
  const docs = await o.jobs.find({ _id: { $in: o.ids } }).toArray();
  const states = docs.map((d) => d.state);
  const ok = states.filter((s) => s === "ok").length;
  const ended = states.filter((s) => ["ok", "error", "deleted"].includes(s)).length;
  const keys: Array<{ key: string; size: number }> = [];
  for (let token: string | undefined; ; ) {
    const page = await o.s3.send(new ListObjectsV2Command({ Bucket: o.bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((c) => ({ key: c.Key!, size: c.Size ?? 0 })));
    if (!page.IsTruncated) break;
    token = page.NextContinuationToken;
  }
  const want = new Map(o.expected.map((e) => [e.key, e]));
  const found = keys.filter((k) => want.has(k.key));
  let corrupt = 0;
  for (const k of found) {
    const body = (await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: k.key }))).Body!;
    const h = createHash("sha256");
    for await (const chunk of body as AsyncIterable<Buffer>) h.update(chunk);
    if (h.digest("hex") !== want.get(k.key)!.sha) corrupt += 1;
  }
  const jobDocs = await o.jobs.countDocuments({ bucket: o.bucket });
  const lost = (o.ids.length - ok - (o.ids.length - ended)) + (o.expected.length - found.length);
  const duplicated = (keys.length - found.length) + Math.max(0, jobDocs - o.expected.length);
  const stuck = o.ids.length - ended;
  const check = { jobs: o.ids.length, ok, lost, duplicated, stuck, corrupt, bytesMoved: found.reduce((n, k) => n + k.size, 0), clean: false };
  check.clean = ok === o.expected.length && o.ids.length === o.expected.length && lost === 0 && duplicated === 0 && stuck === 0 && corrupt === 0;
  return check;
}

export function verdict(c: RunCheck): string {
  return `${c.ok}/${c.jobs} ok, ${c.lost} lost, ${c.duplicated} duplicated, ${c.stuck} stuck, ${c.corrupt} corrupt${c.clean ? "" : "  <-- FAILED"}`;
}
