import { Readable } from "node:stream";
import { StorageError } from "./errors.ts";
import { abortedError } from "./pool.ts";
import type { BodyReader, PutInput } from "./port.ts";

/** A provider's multipart limits. */
export interface PartLimits {
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
  maxObjectSize: number;
}

export interface PartPlan {
  partSize: number;
  partCount: number;
}

const MiB = 1024 * 1024;

/**
 * Picks the part size for an object of `size` bytes: the requested size (raised to the provider's
 * minimum), grown to a whole number of MiB so that `maxParts` is never exceeded.
 * `partCount` is at least 1 (a 0-byte object is one empty part).
 * @throws StorageError INVALID_ARGUMENT for a negative size or one beyond the provider's limits.
 */
export function planParts(size: number, requestedPartSize: number, limits: PartLimits): PartPlan {
  if (!Number.isSafeInteger(size) || size < 0) throw new StorageError("INVALID_ARGUMENT", `invalid size ${size}`);
  if (size > limits.maxObjectSize) {
    throw new StorageError("INVALID_ARGUMENT", `size ${size} exceeds the provider's maximum object size ${limits.maxObjectSize}`);
  }
  let partSize = Math.max(Math.floor(requestedPartSize), limits.minPartSize, 1);
  if (Math.ceil(size / partSize) > limits.maxParts) partSize = Math.ceil(size / limits.maxParts / MiB) * MiB;
  if (partSize > limits.maxPartSize) {
    throw new StorageError("INVALID_ARGUMENT", `size ${size} needs parts larger than the provider's maximum ${limits.maxPartSize}`);
  }
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** One part of a body: 1-based number, byte offset and its bytes. */
export interface BodyPart {
  number: number;
  offset: number;
  data: Buffer;
}

/**
 * Reads `body` part by part, each exactly `partSize` bytes except the last; never holds more than
 * one part plus one incoming chunk. Yields at least one (possibly empty) part.
 * Full-size part buffers are taken from `reuse` when it has one: a consumer that puts a part's
 * buffer back there once the part is sent (and nothing holds it any longer) keeps a worker's memory
 * at its parts in flight, instead of a new buffer per part that only garbage collection returns.
 * When `signal` fires, the body is destroyed, so a read that waits on a stalled body ends too.
 * A body given whole (a buffer) is cut into parts without a copy; a `BodyReader` is read straight
 * into the part buffers (no chunk copied into them), and closed once read or failed.
 * @throws StorageError INTEGRITY when the body is longer or shorter than `size`; SOURCE when the
 *   stream errors (a StorageError from the stream is rethrown as is); ABORTED when `signal` fires.
 */
export async function* readParts(body: OpenedBody, size: number, partSize: number, options: { reuse?: Buffer[]; signal?: AbortSignal } = {}): AsyncGenerator<BodyPart> {
  if (Buffer.isBuffer(body)) {
    yield* wholeParts(body, size, partSize, options.signal);
    return;
  }
  if (isBodyReader(body)) {
    yield* readerParts(body, size, partSize, options);
    return;
  }
  const { reuse, signal } = options;
  // A body that stalls would hold the read past an abort: the abort ends the body instead.
  const stop = () => body.destroy(abortedError(signal));
  if (signal?.aborted) stop();
  signal?.addEventListener("abort", stop, { once: true });
  const allocate = (n: number): Buffer => (n === partSize && reuse?.length ? reuse.pop()! : Buffer.allocUnsafe(n));
  let number = 1;
  let offset = 0;
  let want = Math.min(partSize, size); // bytes of the part being read
  let buf: Buffer | undefined; // the part being assembled from several chunks
  let done: Buffer | undefined; // the last part, once complete
  let filled = 0;
  try {
    for await (const raw of body as AsyncIterable<Buffer | string>) {
      let chunk = typeof raw === "string" ? Buffer.from(raw) : raw;
      while (chunk.length > 0) {
        if (offset + filled + chunk.length > size) {
          throw new StorageError("INTEGRITY", `body is longer than the declared size ${size}`);
        }
        let part: Buffer | undefined;
        if (filled === 0 && chunk.length >= want && !reuse) {
          // The whole part is in this chunk (a small dataset read at once): no copy.
          part = chunk.subarray(0, want);
          chunk = chunk.subarray(want);
          filled = want;
        } else {
          buf ??= allocate(want);
          const n = Math.min(chunk.length, want - filled);
          chunk.copy(buf, filled, 0, n);
          filled += n;
          chunk = chunk.subarray(n);
          if (filled === want) part = buf;
        }
        if (part && offset + filled < size) {
          yield { number, offset, data: part };
          number += 1;
          offset += filled;
          want = Math.min(partSize, size - offset);
          buf = undefined;
          filled = 0;
        } else if (part) {
          done = part;
        }
      }
    }
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError("SOURCE", `reading the body failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  } finally {
    signal?.removeEventListener("abort", stop);
  }
  if (offset + filled !== size) {
    throw new StorageError("INTEGRITY", `body ended after ${offset + filled} bytes, expected ${size}`);
  }
  yield { number, offset, data: done ?? allocate(0) };
}

/** The parts of a body given whole, with readParts' checks. */
function* wholeParts(body: Buffer, size: number, partSize: number, signal: AbortSignal | undefined): Generator<BodyPart> {
  if (body.length > size) throw new StorageError("INTEGRITY", `body is longer than the declared size ${size}`);
  if (body.length < size) throw new StorageError("INTEGRITY", `body ended after ${body.length} bytes, expected ${size}`);
  let number = 1;
  for (let offset = 0; ; offset += partSize, number++) {
    if (signal?.aborted) throw abortedError(signal);
    const end = Math.min(offset + partSize, size);
    yield { number, offset, data: body.subarray(offset, end) };
    if (end >= size) return;
  }
}

/**
 * A BodyReader read part by part, each read straight into its part's buffer; the reader is
 * closed at the end, after a failure, or when the consumer stops early.
 */
async function* readerParts(reader: BodyReader, size: number, partSize: number, options: { reuse?: Buffer[]; signal?: AbortSignal }): AsyncGenerator<BodyPart> {
  const { reuse, signal } = options;
  try {
    for (let number = 1, offset = 0; ; number++) {
      if (signal?.aborted) throw abortedError(signal);
      const want = Math.min(partSize, size - offset);
      const data = want === partSize && reuse?.length ? reuse.pop()! : Buffer.allocUnsafe(want);
      await readFully(reader, data, want, offset, size, signal);
      const last = offset + want >= size;
      if (last) await expectEnd(reader, size);
      yield { number, offset, data };
      if (last) return;
      offset += want;
    }
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError("SOURCE", `reading the body failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  } finally {
    await reader.close().catch(() => undefined);
  }
}

/**
 * Fills `into[0, length)` from `position` of a body of declared `size`.
 * @throws StorageError INTEGRITY when the body ends first; ABORTED when `signal` has fired.
 */
export async function readFully(reader: BodyReader, into: Buffer, length: number, position: number, size: number, signal?: AbortSignal): Promise<void> {
  for (let filled = 0; filled < length; ) {
    if (signal?.aborted) throw abortedError(signal);
    const n = await reader.read(into, filled, length - filled, position + filled);
    if (n === 0) throw new StorageError("INTEGRITY", `body ended after ${position + filled} bytes, expected ${size}`);
    filled += n;
  }
}

/** @throws StorageError INTEGRITY when the body has a byte at `size` (it is longer than declared). */
export async function expectEnd(reader: BodyReader, size: number): Promise<void> {
  if ((await reader.read(Buffer.allocUnsafe(1), 0, 1, size)) > 0) throw new StorageError("INTEGRITY", `body is longer than the declared size ${size}`);
}

/**
 * A put's body once opened: a stream, the whole body in one buffer (a small dataset read at once),
 * or a reader of positional reads (a file).
 */
export type OpenedBody = Readable | Buffer | BodyReader;

/** True for a BodyReader (neither a buffer nor a stream). */
export function isBodyReader(body: OpenedBody): body is BodyReader {
  return !Buffer.isBuffer(body) && !(body instanceof Readable) && typeof (body as BodyReader).read === "function" && typeof (body as BodyReader).close === "function";
}

/** Bytes per read when a BodyReader is turned into a stream. */
const READER_STREAM_CHUNK = 256 * 1024;

/** Opens the body of a put: calls the factory, or returns the stream or buffer. */
export async function openBody(body: PutInput["body"]): Promise<OpenedBody> {
  try {
    return typeof body === "function" ? await body() : body;
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw new StorageError("SOURCE", `opening the body failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/**
 * An opened body as a stream: a buffer becomes a stream of that one chunk; a reader is read to its
 * end (a new buffer per chunk) and closed when the stream ends or is destroyed.
 */
export function bodyStream(body: OpenedBody): Readable {
  if (Buffer.isBuffer(body)) return Readable.from([body]);
  if (!isBodyReader(body)) return body;
  const reader = body;
  return Readable.from(
    (async function* () {
      try {
        for (let position = 0; ; ) {
          const chunk = Buffer.allocUnsafe(READER_STREAM_CHUNK);
          const n = await reader.read(chunk, 0, chunk.length, position);
          if (n === 0) return;
          position += n;
          yield chunk.subarray(0, n);
        }
      } finally {
        await reader.close().catch(() => undefined);
      }
    })(),
    { objectMode: false },
  );
}
