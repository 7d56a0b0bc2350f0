import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { Logger } from "@skyferry/logger";
import { configInvalid, invalidRange, notFound, readOnly as readOnlyError, tooLarge } from "./errors.ts";
import { throwIfAborted, writeFailure } from "./fail.ts";
import { checkKey } from "./keys.ts";
import { createHashPool } from "./hash-pool.ts";
import { Meter } from "./meter.ts";
import { checkRange } from "./range.ts";
import { isMissingObject, s3Failure } from "./s3-errors.ts";
import type { DatasetStore, WriteOptions } from "./types.ts";

export interface S3DatasetStoreOptions {
  bucket: string;
  /** Prepended to every key (e.g. `datasets/`), so one bucket can hold other things too. */
  prefix?: string;
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Static credentials; without them the SDK's default chain (env, IRSA, instance role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Multipart part size in bytes (at least 5 MiB). Memory per write is about 3 parts. */
  partSize?: number;
  readOnly?: boolean;
  logger?: Logger;
  /** Threads hashing the bytes of large writes beside the event loop (see Meter); 0 (default): on the event loop. */
  hashThreads?: number;
}

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const PARTS_IN_FLIGHT = 2;

/**
 * The `s3` dataset store. A write reads the body once, part by part: a body smaller than one
 * part is a single PUT, a larger one a multipart upload (each part with its Content-MD5) that
 * becomes visible only on CompleteMultipartUpload, and is aborted on any failure.
 */
export async function createS3DatasetStore(options: S3DatasetStoreOptions): Promise<DatasetStore> {
  const { bucket } = options;
  const prefix = options.prefix ?? "";
  if (prefix && !/^([A-Za-z0-9][A-Za-z0-9._-]*\/)+$/.test(prefix)) throw configInvalid("DATASET_STORE_S3_PREFIX must be empty or end with '/', e.g. 'datasets/'.");
  const partSize = options.partSize ?? 8 * MiB;
  if (partSize < 5 * MiB) throw configInvalid("The S3 part size must be at least 5 MiB.");
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 3,
    // radosgw refuses the SDK's flexible-checksum (aws-chunked) bodies; parts carry Content-MD5.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { requestTimeout: 120_000, connectionTimeout: 10_000 },
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    client.destroy();
    if (isMissingObject(err)) throw configInvalid(`The dataset store bucket '${bucket}' does not exist.`);
    throw s3Failure(err, `opening bucket '${bucket}'`);
  }
  const objectKey = (key: string) => prefix + checkKey(key).join("/");
  const pool = options.hashThreads ? createHashPool(options.hashThreads) : undefined;

  async function write(key: string, body: Readable, { maxBytes, signal, expectedSize }: WriteOptions = {}) {
    if (options.readOnly) throw readOnlyError();
    const Key = objectKey(key);
    throwIfAborted(signal);
    const meter = new Meter(maxBytes, pool, expectedSize);
    const send = { abortSignal: signal };
    let uploadId: string | undefined;
    const parts: { PartNumber: number; ETag: string }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failed: unknown;
    let nextPart = 1;
    const uploadPart = (data: Buffer) => {
      if (nextPart > MAX_PARTS) throw tooLarge(maxBytes ?? partSize * MAX_PARTS);
      const PartNumber = nextPart++;
      const p = client
        .send(new UploadPartCommand({ Bucket: bucket, Key, UploadId: uploadId, PartNumber, Body: data, ContentLength: data.length, ContentMD5: md5b64(data) }), send)
        .then((r) => {
          if (!r.ETag) throw new Error(`UploadPart ${PartNumber} answered without an ETag.`);
          parts.push({ PartNumber, ETag: r.ETag });
        })
        .catch((err: unknown) => void (failed ??= err))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    try {
      await pipeline(body, meter, async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes < partSize) continue;
          uploadId ??= (await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }), send)).UploadId;
          uploadPart(Buffer.concat(pending, pendingBytes));
          pending = [];
          pendingBytes = 0;
          while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
          if (failed) throw failed;
        }
      }, signal ? { signal } : {});
      const rest = Buffer.concat(pending, pendingBytes);
      pending = [];
      if (uploadId === undefined) {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: rest, ContentLength: rest.length, ContentMD5: md5b64(rest) }), send);
      } else {
        if (rest.length > 0) uploadPart(rest);
        await Promise.all(inFlight);
        if (failed) throw failed;
        throwIfAborted(signal);
        parts.sort((a, b) => a.PartNumber - b.PartNumber);
        await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), send);
      }
    } catch (err) {
      // Parts still being sent could re-create state after the abort: let them settle first.
      await Promise.allSettled(inFlight);
      if (uploadId !== undefined) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId: uploadId })).catch((e: unknown) =>
          options.logger?.warn({ err: e, bucket, key: Key }, "could not abort a dataset multipart upload"),
        );
      }
      throw writeFailure(err, signal, (e) => s3Failure(e, `writing '${key}'`));
    }
    return { key, size: meter.bytes, ...meter.digests() };
  }

  async function read(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const Key = objectKey(key);
    if (range) checkRange(range, Number.MAX_SAFE_INTEGER); // shape only; the object's size is checked by S3
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key, ...(range ? { Range: `bytes=${range.start}-${range.end ?? ""}` } : {}) }));
      return r.Body as Readable;
    } catch (err) {
      if (isMissingObject(err)) throw notFound(key, err);
      if ((err as { name?: string }).name === "InvalidRange" && range) {
        // S3 refuses any range of an empty object, and a start at the size; the file store gives an empty stream.
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key })).catch((e: unknown) => {
          throw isMissingObject(e) ? notFound(key, e) : s3Failure(e, `reading '${key}'`);
        });
        if (checkRange(range, head.ContentLength ?? 0) === "empty") return Readable.from([]);
        throw invalidRange(`Byte range ${range.start}-${range.end ?? ""} starts beyond the end (${head.ContentLength} bytes).`);
      }
      throw s3Failure(err, `reading '${key}'`);
    }
  }

  return {
    kind: "s3",
    write,
    read,

    async readWhole(key, maxBytes, into) {
      // The first maxBytes + 1 bytes: one more than allowed tells a larger blob apart.
      const body = await read(key, { start: 0, end: maxBytes });
      const chunks: Buffer[] = [];
      let n = 0;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          chunks.push(chunk);
          n += chunk.length;
        }
      } catch (err) {
        throw s3Failure(err, `reading '${key}'`);
      }
      if (n > maxBytes) return null;
      if (!into || into.length <= maxBytes) return Buffer.concat(chunks, n);
      let at = 0;
      for (const c of chunks) at += c.copy(into, at);
      return into.subarray(0, n);
    },

    async stat(key) {
      const Key = objectKey(key);
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }));
        return { size: head.ContentLength ?? 0 };
      } catch (err) {
        if (isMissingObject(err)) return null;
        throw s3Failure(err, `stat of '${key}'`);
      }
    },

    async delete(key) {
      const Key = objectKey(key);
      if (options.readOnly) throw readOnlyError();
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
      } catch (err) {
        if (!isMissingObject(err)) throw s3Failure(err, `deleting '${key}'`);
      }
    },

    async close() {
      client.destroy();
      await pool?.close();
    },
  };
}

const md5b64 = (data: Buffer) => createHash("md5").update(data).digest("base64");
