import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Galaxy's `to_posix_lines`: CRLF and lone CR become LF, and a non-empty file ends with LF.
 * Works on bytes (CR and LF never occur inside a UTF-8 multi-byte sequence), across chunk edges.
 */
export class ToPosixLines extends Transform {
  private afterCr = false;
  private last = -1;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) return done();
    let start = 0;
    if (this.afterCr && chunk.length > 0 && chunk[0] === LF) start = 1; // the LF of a CRLF split across chunks
    this.afterCr = false;
    if (chunk.indexOf(CR, start) < 0) {
      const out = chunk.subarray(start);
      if (out.length > 0) this.last = out[out.length - 1]!;
      done(null, out);
      return;
    }
    const out = Buffer.allocUnsafe(chunk.length - start);
    let n = 0;
    for (let i = start; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === CR) {
        out[n++] = LF;
        if (i + 1 < chunk.length) {
          if (chunk[i + 1] === LF) i++;
        } else this.afterCr = true;
      } else out[n++] = b;
    }
    if (n > 0) this.last = out[n - 1]!;
    done(null, out.subarray(0, n));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.last >= 0 && this.last !== LF ? Buffer.from([LF]) : undefined);
  }
}

/**
 * Galaxy's `space_to_tab`: every run of spaces and tabs becomes one tab (within lines; line ends
 * are untouched). Runs that cross chunk edges collapse too.
 */
export class SpaceToTab extends Transform {
  private inRun = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const out = Buffer.allocUnsafe(chunk.length);
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === SPACE || b === TAB) {
        if (!this.inRun) out[n++] = TAB;
        this.inRun = true;
      } else {
        out[n++] = b;
        this.inRun = false;
      }
    }
    done(null, out.subarray(0, n));
  }
}

/**
 * Passes bytes through unchanged while counting them and, unless `hash` is false, hashing them
 * (sha256, md5). Without hashing, `digests()` is not available: the caller uses the digests the
 * dataset store computed over the same bytes.
 */
export class DigestTap extends Transform {
  private readonly sha: Hash | undefined;
  private readonly md: Hash | undefined;
  bytes = 0;
  private readonly onBytes: ((total: number) => void) | undefined;
  constructor(onBytes?: (total: number) => void, options: { hash?: boolean } = {}) {
    super();
    this.onBytes = onBytes;
    if (options.hash !== false) {
      this.sha = createHash("sha256");
      this.md = createHash("md5");
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.sha?.update(chunk);
    this.md?.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    done(null, chunk);
  }

  digests(): { sha256: string; md5: string } {
    if (!this.sha || !this.md) throw new Error("DigestTap was created without hashing");
    return { sha256: this.sha.digest("hex"), md5: this.md.digest("hex") };
  }
}

/** Passes bytes through, keeping the first `max` bytes (for sniffing the datatype and the peek). */
export class HeadCapture extends Transform {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  private readonly max: number;
  constructor(max: number) {
    super();
    this.max = max;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.kept < this.max) {
      const take = chunk.subarray(0, this.max - this.kept);
      this.parts.push(Buffer.from(take));
      this.kept += take.length;
    }
    done(null, chunk);
  }

  head(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Galaxy's `"true"`/`"false"` strings or booleans; null/absent -> false. */
export function flag(value: boolean | "true" | "false" | null | undefined): boolean {
  return value === true || value === "true";
}

/** The first lines of a text head, as Galaxy's peek (null for binary content). */
export function peekOf(head: Buffer, lines = 5): string | null {
  const sample = head.subarray(0, 4096);
  if (sample.includes(0)) return null;
  const text = sample.toString("utf8").split("\n").slice(0, lines).join("\n");
  return text.length > 0 ? text.slice(0, 4000) : null;
}
