// In-memory fakes for unit tests of domain logic only (planner, policies, runner); the real
// adapters run the shared contract suite and the e2e tests against radosgw and Azurite.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { DatasetStore } from "@skyferry/dataset-store";
import { bodyStream, type ObjectInfo, type ObjectStore, type PendingUpload, type PutInput, StorageError } from "@skyferry/storage";
import type { JobDoc } from "../src/jobs/job-doc.ts";
import type { JobRepository } from "../src/jobs/repository.ts";
import type { CompletedPartRecord } from "../src/jobs/types.ts";

export function fakeJobs(): JobRepository & { docs: Map<string, JobDoc> } {
  const docs = new Map<string, JobDoc>();
  const parts = new Map<string, CompletedPartRecord>();

  const set = (id: string, f: (d: JobDoc) => boolean, patch: Partial<JobDoc>) => {
    const d = docs.get(id);
    if (!d || !f(d)) return null;
    Object.assign(d, patch, { update_time: new Date() });
    return structuredClone(d);
  };
  const active = (d: JobDoc) => ["new", "queued", "running"].includes(d.state);
  return {
    docs,
    ensureIndexes: async () => undefined,
    async insertOrFind(doc) {
      const existing = [...docs.values()].find((d) => d.dedupe_key === doc.dedupe_key);
      if (existing) return { doc: structuredClone(existing), created: false };
      docs.set(doc._id, structuredClone(doc));
      return { doc, created: true };
    },
    async insertManyOrFind(list) {
      const out = [];
      for (const doc of list) out.push(await this.insertOrFind(doc));
      return out;
    },
    get: async (id) => (docs.has(id) ? structuredClone(docs.get(id)!) : null),
    getOwned: async (id, u) => (docs.get(id)?.user_id === u ? structuredClone(docs.get(id)!) : null),
    list: async (u) => [...docs.values()].filter((d) => d.user_id === u),
    claim: async (id, worker, direction, runMsg, staleBefore) =>
      set(
        id,
        (d) => active(d) && !d.cancel_requested && (d.direction ?? "send") === direction && (d.state !== "running" || d.run_msg === runMsg || !d.heartbeat_at || d.heartbeat_at < staleBefore),
        { state: "running", worker, run_msg: runMsg, heartbeat_at: new Date(), attempts: (docs.get(id)?.attempts ?? 0) + 1 },
      ),
    heartbeat: async (id, runMsg) => set(id, (d) => d.state === "running" && d.run_msg === runMsg, { heartbeat_at: new Date() }) !== null,
    setUploadIntents: async (id, runMsg, intents) => set(id, (d) => d.state === "running" && d.run_msg === runMsg, { upload_intents: intents }) !== null,
    async uploadStarted(id, key, upload_id, intents) {
      set(id, active, { upload: { key, upload_id }, object_key: key, ...(intents ? { upload_intents: intents } : {}) });
    },
    recordedUploads: async (ids) => new Set([...docs.values()].flatMap((d) => (d.upload && ids.includes(d.upload.upload_id) ? [d.upload.upload_id] : []))),
    othersIntend: async (bucket, key, exceptId) =>
      [...docs.values()].some((d) => d._id !== exceptId && d.bucket === bucket && d.state === "running" && (d.upload_intents ?? []).some((i) => i.key === key)),
    async partDone(id, uploadId, part) {
      parts.set(`${id}:${uploadId}:${part.number}`, part);
    },
    parts: async (id, uploadId) => [...parts.entries()].filter(([k]) => k.startsWith(`${id}:${uploadId}:`)).map(([, p]) => p).sort((a, b) => a.number - b.number),
    async markCancelled(id) {
      set(id, active, { cancel_requested: true });
    },
    isCancelled: async (id) => docs.get(id)?.cancel_requested === true,
    setDeleted: async (id) => set(id, active, { state: "deleted", upload: null }),
    async clearUpload(id) {
      set(id, active, { upload: null, bytes_done: 0 });
    },
    async progress(id, bytes_done) {
      set(id, (d) => d.state === "running", { bytes_done });
    },
    complete: async (id, f) => set(id, (d) => active(d) && !d.cancel_requested, { state: "ok", ...f, error: null, upload: null }),
    fail: async (id, error, attempts) => set(id, active, { state: "error", error, upload: null, ...(attempts ? { attempts } : {}) }),
    async requeue(id, error, transient_since, attempts) {
      set(id, active, { state: "queued", error, transient_since, ...(attempts ? { attempts } : {}) });
    },
    stale: async (state, before, limit) =>
      [...docs.values()].filter((d) => d.state === state && ((state === "running" ? d.heartbeat_at : d.update_time) ?? new Date()) < before).slice(0, limit).map((d) => structuredClone(d)),
    countActive: async () => {
      const n = (state: string) => [...docs.values()].filter((d) => d.state === state).length;
      return { new: n("new"), queued: n("queued"), running: n("running") };
    },
    redrive: async (seen) => {
      const n = (seen.redrives ?? 0) + 1;
      return set(seen._id, (d) => d.state === seen.state && d.update_time.getTime() === seen.update_time.getTime(), { run_msg: `${seen._id}.d${n}`, heartbeat_at: new Date(), redrives: n });
    },
    retry: async (id, u) => set(id, (d) => d.user_id === u && d.state === "error", { state: "queued", error: null, upload: null, retries: (docs.get(id)?.retries ?? 0) + 1, cancel_requested: false }),
  };
}

/** A dataset store over buffers; with `positional` (as the file store) it also has `openReader`. */
export function fakeDatasets(blobs: Record<string, Buffer>, options: { positional?: boolean } = {}): DatasetStore {
  const openReader = async (key: string) => ({
    read: async (into: Buffer, offset: number, length: number, position: number) => blobs[key]!.copy(into, offset, position, Math.min(position + length, blobs[key]!.length)),
    close: async () => undefined,
  });
  return {
    kind: "file",
    ...(options.positional ? { openReader } : {}),
    read: async (key) => Readable.from([blobs[key]!]),
    readWhole: async (key, maxBytes, into) => {
      const blob = blobs[key]!;
      if (blob.length > maxBytes) return null;
      if (!into || into.length <= maxBytes) return blob;
      blob.copy(into);
      return into.subarray(0, blob.length);
    },
    write: () => Promise.reject(new Error("read-only")),
    stat: async (key) => (blobs[key] ? { size: blobs[key].length } : null),
    delete: async () => undefined,
  };
}

/** A bucket store honouring the create-only condition at commit; `beforeCommit` lets a test race it. */
/**
 * An object store over a map. Every put is an upload (`pending` from its start to its commit or
 * abort), announced through `onUploadStarted`; one of several parts (`size` above `partSize`), as
 * a multipart upload, through `onUploadStarting` first.
 */
export function fakeStore(options: { buckets?: string[]; beforeCommit?: (key: string) => void } = {}): ObjectStore & { objects: Map<string, { body: Buffer; info: ObjectInfo }>; aborted: string[]; pending: Map<string, PendingUpload> } {
  const objects = new Map<string, { body: Buffer; info: ObjectInfo }>();
  const pending = new Map<string, PendingUpload>();
  const buckets = new Set(options.buckets ?? ["b"]);
  const aborted: string[] = [];
  let uploads = 0;
  const needBucket = (b: string) => {
    if (!buckets.has(b)) throw new StorageError("NOT_FOUND", `no bucket ${b}`, { providerReason: "NoSuchBucket" });
  };
  return {
    provider: "s3",
    objects,
    aborted,
    pending,
    async put(input: PutInput) {
      needBucket(input.bucket);
      if (input.partSize !== undefined && input.size > input.partSize) await input.onUploadStarting?.();
      const id = `up-${++uploads}`;
      pending.set(id, { key: input.key, uploadId: id, started: new Date() });
      await input.onUploadStarted?.(id);
      const opened = typeof input.body === "function" ? await input.body() : input.body;
      const chunks: Buffer[] = [];
      if (Buffer.isBuffer(opened)) chunks.push(opened); // a small dataset read whole
      else for await (const c of bodyStream(opened)) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      await input.onPartDone?.({ number: 1, etag: "e1", size: body.length });
      input.onProgress?.(body.length);
      const sha256 = createHash("sha256").update(body).digest("hex");
      if (input.sha256 && input.sha256 !== sha256) throw new StorageError("INTEGRITY", "sha256 mismatch");
      options.beforeCommit?.(input.key);
      const k = `${input.bucket}/${input.key}`;
      if (input.ifNoneMatch && objects.has(k)) throw new StorageError("ALREADY_EXISTS", "exists", { providerReason: "PreconditionFailed" });
      objects.set(k, { body, info: { key: input.key, size: body.length, etag: "x", metadata: { ...input.metadata, sha256 } } });
      pending.delete(id);
      return { bucket: input.bucket, key: input.key, size: body.length, etag: "x", sha256, partsUploaded: 1 };
    },
    async head(bucket, key) {
      needBucket(bucket);
      return objects.get(`${bucket}/${key}`)?.info ?? null;
    },
    get: () => Promise.reject(new Error("unused")),
    list: () => Promise.reject(new Error("unused")),
    async abort(_b, key, id) {
      aborted.push(`${key}:${id}`);
      pending.delete(id);
    },
    listUploads: async (_b, key, o) => [...pending.values()].filter((u) => u.key === key && (!o?.startedAfter || u.started >= o.startedAfter)),
    async delete(bucket, key) {
      objects.delete(`${bucket}/${key}`);
    },
    bucketExists: async (b) => buckets.has(b),
    close: async () => undefined,
  };
}
