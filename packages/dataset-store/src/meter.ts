import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { tooLarge } from "./errors.ts";

/**
 * A pass-through that counts bytes, hashes them (sha256 and md5, one pass) and fails with
 * DATASET_STORE_TOO_LARGE as soon as more than `maxBytes` have gone through.
 */
export class Meter extends Transform {
  bytes = 0;
  private readonly sha256: Hash = createHash("sha256");
  private readonly md5: Hash = createHash("md5");
  private readonly maxBytes: number;

  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    super();
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(tooLarge(this.maxBytes));
    this.sha256.update(chunk);
    this.md5.update(chunk);
    done(null, chunk);
  }

  /** Hex digests; call once, after the stream ended. */
  digests(): { sha256: string; md5: string } {
    return { sha256: this.sha256.digest("hex"), md5: this.md5.digest("hex") };
  }
}
