import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { tooLarge } from "./errors.ts";
import type { Digests, HashPool, HashSession } from "./hash-pool.ts";

/**
 * Streams known to be smaller are hashed on the event loop even with a pool: many concurrent
 * medium writes keep the threads no busier than the event loop would be (measured: 100 x 10 MiB
 * equally fast), and each stream in the pool holds about 2 MiB of batches (16 writes: 60 MiB more
 * resident memory).
 */
const THREADED_MIN = 32 * 1024 * 1024;

/**
 * A pass-through that counts bytes, hashes them (sha256 and md5, one pass) and fails with
 * DATASET_STORE_TOO_LARGE as soon as more than `maxBytes` have gone through. With a `pool`, the
 * hashing of a large stream (one expected to reach THREADED_MIN, or of unknown size past a
 * megabyte) runs in pool threads beside the event loop (the stream waits when they fall behind);
 * otherwise here.
 */
export class Meter extends Transform {
  bytes = 0;
  private readonly maxBytes: number;
  private readonly hashing: HashSession;
  private result: Digests | undefined;

  /** `expectedSize`: the stream's size when the caller knows it (see THREADED_MIN). */
  constructor(maxBytes = Number.POSITIVE_INFINITY, pool?: HashPool, expectedSize?: number) {
    super();
    this.maxBytes = maxBytes;
    const inline = !pool || (expectedSize !== undefined && expectedSize < THREADED_MIN);
    this.hashing = inline ? inlineSession() : pool.session({ direct: expectedSize !== undefined });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(tooLarge(this.maxBytes));
    const wait = this.hashing.update(chunk);
    if (!wait) return done(null, chunk);
    wait.then(() => done(null, chunk), done);
  }

  override _flush(done: TransformCallback): void {
    this.hashing.digest().then((d) => {
      this.result = d;
      done();
    }, done);
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    if (!this.result) this.hashing.abort();
    done(err);
  }

  /** Hex digests; available once the stream has ended. */
  digests(): Digests {
    if (!this.result) throw new Error("Meter.digests() before the stream ended");
    return this.result;
  }
}

function inlineSession(): HashSession {
  const sha = createHash("sha256");
  const md5 = createHash("md5");
  return {
    update(chunk) {
      sha.update(chunk);
      md5.update(chunk);
      return undefined;
    },
    digest: async () => ({ sha256: sha.digest("hex"), md5: md5.digest("hex") }),
    abort() {},
  };
}
