import { Readable } from "node:stream";
import { isStorageError, StorageError } from "./errors.ts";
import { abortedError } from "./pool.ts";
import type { GetOptions, ObjectInfo } from "./port.ts";

/**
 * One read of an adapter: the bytes `range.start..range.end` (inclusive), or the whole object
 * without `range`; conditional on `ifMatch` (the ETag of the first read, unquoted) when given.
 * `info.size` is the size of the whole object.
 */
export type RangeRead = (
  range: { start: number; end?: number } | undefined,
  ifMatch: string | undefined,
  signal: AbortSignal | undefined,
) => Promise<{ info: ObjectInfo; body: Readable }>;

/** An adapter's `get`: one read, or parallel ranged reads (`getInRanges`) when `options.parallel` asks for them. */
export function readInRangesOrWhole(
  read: RangeRead,
  range: { start: number; end?: number } | undefined,
  options: GetOptions,
): Promise<{ info: ObjectInfo; body: Readable }> {
  return options.parallel ? getInRanges(read, range, { ...options, parallel: options.parallel }) : read(range, undefined, options.signal);
}

/** Reads per range (a connection reset mid-body is common on long reads; the request itself is retried by the SDK). */
const RANGE_TRIES = 3;

/**
 * `get` with `options.parallel`, for any adapter: the first ranged read (`chunkSize` bytes) gives the
 * object's info; the rest of the span is read as ranges of `chunkSize` bytes, at most `concurrency`
 * at once, each conditional on the first read's ETag, and delivered in order, uncopied: the first
 * range in line streams through as it arrives while the ranges behind it fill. Reads start when the
 * stream is first read. Memory: about `concurrency` × `chunkSize`. A range whose body breaks is
 * read again from its first missing byte (3 reads at most); a precondition failure (the object was
 * replaced meanwhile) is TRANSIENT, so a caller's new attempt reads the new version whole instead
 * of mixing two. Destroying the stream aborts the reads in flight.
 * @throws (from the call) what the first read throws; an empty object is read with one plain read.
 *   The stream errors with the StorageError of a range that failed every try, or ABORTED.
 */
export async function getInRanges(
  read: RangeRead,
  range: { start: number; end?: number } | undefined,
  options: GetOptions & { parallel: NonNullable<GetOptions["parallel"]> },
): Promise<{ info: ObjectInfo; body: Readable }> {
  const chunk = Math.max(1, Math.floor(options.parallel.chunkSize));
  const concurrency = Math.max(1, Math.floor(options.parallel.concurrency));
  const start = range?.start ?? 0;
  const firstEnd = range?.end !== undefined ? Math.min(range.end, start + chunk - 1) : start + chunk - 1;
  let first: { info: ObjectInfo; body: Readable };
  try {
    first = await read({ start, end: firstEnd }, undefined, options.signal);
  } catch (err) {
    // A ranged read of an empty object is refused (416): the plain read answers it.
    if (start === 0 && isStorageError(err, "INVALID_ARGUMENT")) return read(undefined, undefined, options.signal);
    throw err;
  }
  const { info } = first;
  const last = Math.min(range?.end ?? info.size - 1, info.size - 1);
  if (last <= firstEnd) return first; // one range holds the whole span: stream it as it comes
  const spans: Array<{ start: number; end: number }> = [];
  for (let s = start; s <= last; s += chunk) spans.push({ start: s, end: Math.min(s + chunk - 1, last) });
  const body = Readable.from(rangesInOrder(read, first.body, spans, info.etag, concurrency, options.signal), {
    objectMode: false,
    highWaterMark: 1,
  });
  // Destroyed before its first read, the generator never runs: the first response is closed here.
  body.once("close", () => first.body.destroy());
  return { info, body };
}

async function* rangesInOrder(
  read: RangeRead,
  firstBody: Readable,
  spans: Array<{ start: number; end: number }>,
  etag: string,
  concurrency: number,
  outer: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const stop = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stop.signal]) : stop.signal;
  const pending: RangeReader[] = [];
  let next = 0;
  const launch = () => {
    const i = next++;
    pending.push(new RangeReader(read, spans[i]!, i === 0 ? firstBody : undefined, etag, signal));
  };
  try {
    while (next < spans.length && pending.length < concurrency) launch();
    for (let i = 0; i < spans.length; i++) {
      // The head range streams through as it arrives; the ones behind it fill their queues meanwhile.
      yield* pending[0]!.chunks();
      pending.shift();
      if (next < spans.length) launch();
    }
  } finally {
    stop.abort();
  }
}

/**
 * One range, read at once into a queue of chunks (uncopied) that `chunks()` drains in order. A
 * body that breaks is asked for again from the first byte not yet received (up to RANGE_TRIES
 * reads), conditional on the ETag, so the bytes delivered are exact and of one version.
 */
class RangeReader {
  private readonly queue: Buffer[] = [];
  private received = 0;
  private ended = false;
  private failure: { err: StorageError } | undefined;
  private wake: (() => void) | undefined;
  private readonly read: RangeRead;
  private readonly span: { start: number; end: number };
  private readonly etag: string;
  private readonly signal: AbortSignal;

  constructor(read: RangeRead, span: { start: number; end: number }, opened: Readable | undefined, etag: string, signal: AbortSignal) {
    this.read = read;
    this.span = span;
    this.etag = etag;
    this.signal = signal;
    this.fill(opened).then(
      () => (this.ended = true),
      (err: unknown) => (this.failure = { err: asStorageError(err) }),
    ).finally(() => this.notify());
  }

  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.failure) throw this.failure.err;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async fill(opened: Readable | undefined): Promise<void> {
    const length = this.span.end - this.span.start + 1;
    for (let attempt = 1; ; attempt++) {
      if (this.signal.aborted) throw abortedError(this.signal);
      try {
        const from = { start: this.span.start + this.received, end: this.span.end };
        const body = attempt === 1 && opened ? opened : (await this.read(from, this.etag || undefined, this.signal).catch(changed)).body;
        await this.take(body, length);
        if (this.received !== length) throw new StorageError("TRANSIENT", `a range of ${length} bytes ended after ${this.received}`);
        return;
      } catch (err) {
        if (this.signal.aborted) throw abortedError(this.signal);
        const again = !isStorageError(err) || (isStorageError(err, "TRANSIENT") && err.providerReason !== CHANGED);
        if (!again || attempt >= RANGE_TRIES) throw err;
      }
    }
  }

  private async take(body: Readable, length: number): Promise<void> {
    const onAbort = () => body.destroy();
    this.signal.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const raw of body as AsyncIterable<Buffer | string>) {
        const c = typeof raw === "string" ? Buffer.from(raw) : raw;
        if (this.received + c.length > length) throw new StorageError("INTEGRITY", `a range of ${length} bytes answered more bytes`);
        this.queue.push(c);
        this.received += c.length;
        this.notify();
      }
    } finally {
      this.signal.removeEventListener("abort", onAbort);
    }
  }
}

const CHANGED = "ObjectChanged";

/** 412 on a conditional read (mapped to ALREADY_EXISTS by every adapter): the object was replaced mid-read. */
function changed(err: unknown): never {
  if (isStorageError(err, "ALREADY_EXISTS")) {
    throw new StorageError("TRANSIENT", "the object changed while it was read; read it again", { providerReason: CHANGED, cause: err });
  }
  throw err;
}

function asStorageError(err: unknown): StorageError {
  if (isStorageError(err)) return err;
  return new StorageError("TRANSIENT", `reading a range failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
