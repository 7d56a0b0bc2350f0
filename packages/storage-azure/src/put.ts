import { createHash } from "node:crypto";
import type { BlockBlobClient } from "@azure/storage-blob";
import {
  abortedError,
  forEachBounded,
  isStorageError,
  openBody,
  planParts,
  readParts,
  StorageError,
  type BodyPart,
  type PutInput,
  type PutResult,
} from "@skyferry/storage";
import { AZURE_LIMITS, blockId, newUploadId } from "./blocks.ts";
import type { AzureClients } from "./clients.ts";
import { call } from "./errors.ts";
import { verifyCommitted } from "./verify.ts";

/** Settings a put falls back to. */
export interface PutDefaults {
  partSize: number;
  concurrency: number;
}

/**
 * `ObjectStore.put` for Azure: stage blocks (each with its MD5) in parallel, then commit the block
 * list with the whole object's Content-MD5 and sha256 metadata, create-only via `If-None-Match: *`.
 */
export async function putBlob(clients: AzureClients, defaults: PutDefaults, input: PutInput): Promise<PutResult> {
  if (input.signal?.aborted) throw abortedError(input.signal);
  const plan = planParts(input.size, input.partSize ?? defaults.partSize, AZURE_LIMITS);
  const blob = async (): Promise<BlockBlobClient> => (await clients.container(input.bucket)).getBlockBlobClient(input.key);
  if (input.ifNoneMatch && plan.partCount > 1) await refuseExisting(await blob());
  const uploadId = input.resume?.uploadId ?? newUploadId();
  const staged = input.resume ? await listUncommitted(await blob()) : new Map<string, number>();
  if (!input.resume) {
    if (plan.partCount > 1) await input.onUploadStarting?.();
    await input.onUploadStarted?.(uploadId);
  }

  const sha = createHash("sha256");
  const md5All = createHash("md5");
  const ids: string[] = [];
  let uploaded = 0;
  let bytesDone = 0;
  const internal = new AbortController();
  const signal = input.signal ? AbortSignal.any([input.signal, internal.signal]) : internal.signal;
  const body = await openBody(input.body);
  async function* hashed(): AsyncGenerator<BodyPart> {
    for await (const p of readParts(body, input.size, plan.partSize, input.signal ? { signal: input.signal } : {})) {
      sha.update(p.data);
      md5All.update(p.data);
      yield p;
    }
  }
  const stageOne = async (p: BodyPart): Promise<void> => {
    const md5 = createHash("md5").update(p.data).digest();
    const id = blockId(uploadId, p.number, md5.toString("hex"));
    ids[p.number - 1] = id;
    if (staged.get(id) !== p.data.length) {
      await call("stageBlock", async () => (await blob()).stageBlock(id, p.data, p.data.length, { transactionalContentMD5: md5, abortSignal: signal }));
      uploaded += 1;
      await input.onPartDone?.({ number: p.number, etag: id, size: p.data.length, md5: md5.toString("hex") });
    }
    bytesDone += p.data.length;
    input.onProgress?.(bytesDone);
  };
  // A 0-byte object has no block to stage: commit an empty list.
  const source = input.size === 0 ? (async function* () {})() : hashed();
  await forEachBounded(source, input.concurrency ?? defaults.concurrency, stageOne, {
    ...(input.signal ? { signal: input.signal } : {}),
    onFailure: (err) => {
      if (!isStorageError(err, "SOURCE")) internal.abort();
    },
  });
  if (input.size === 0) for await (const _ of readParts(body, 0, 1)) void _;

  const sha256 = sha.digest("hex");
  const md5 = md5All.digest();
  checkDigests(input, sha256, md5.toString("hex"));
  // Uncommitted blocks cannot be deleted: the service discards them at the next commit or after 7 days.
  await call("commitBlockList", async () =>
    (await blob()).commitBlockList(ids, {
      blobHTTPHeaders: { blobContentMD5: md5, ...(input.contentType ? { blobContentType: input.contentType } : {}) },
      metadata: { ...input.metadata, sha256 },
      ...(input.ifNoneMatch ? { conditions: { ifNoneMatch: "*" } } : {}),
      ...(input.storageClass ? { tier: input.storageClass } : {}),
      abortSignal: input.signal,
    }),
  );
  const v = await verifyCommitted(await blob(), { size: input.size, sha256, md5 });
  return { bucket: input.bucket, key: input.key, size: input.size, sha256, md5: md5.toString("hex"), partsUploaded: uploaded, ...v };
}

/** Uncommitted blocks of a blob (id → size); none when the blob does not exist yet. */
async function listUncommitted(blob: BlockBlobClient): Promise<Map<string, number>> {
  try {
    const r = await call("getBlockList", () => blob.getBlockList("uncommitted"));
    return new Map((r.uncommittedBlocks ?? []).map((b) => [b.name, b.size]));
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND") && err.providerReason === "BlobNotFound") return new Map();
    throw err;
  }
}

function checkDigests(input: PutInput, sha256: string, md5: string): void {
  if (input.sha256 && input.sha256.toLowerCase() !== sha256) {
    throw new StorageError("INTEGRITY", `body sha256 ${sha256} differs from the declared ${input.sha256}`, { providerReason: "Sha256Mismatch" });
  }
  if (input.md5 && input.md5.toLowerCase() !== md5) {
    throw new StorageError("INTEGRITY", `body md5 ${md5} differs from the declared ${input.md5}`, { providerReason: "Md5Mismatch" });
  }
}

/** Fails fast before staging when a create-only put's blob exists; the commit's condition decides. */
async function refuseExisting(blob: BlockBlobClient): Promise<void> {
  if (await call("exists", () => blob.exists())) {
    throw new StorageError("ALREADY_EXISTS", `${blob.url.split("?")[0]} already exists`, { providerReason: "BlobAlreadyExists" });
  }
}
