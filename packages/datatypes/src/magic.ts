import { constants, gunzipSync } from "node:zlib";

export type Compression = "gzip" | "zip" | "bzip2";

/** Container compression from the first bytes' magic numbers. */
export function compressionOf(head: Buffer): Compression | null {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32BE(0) === 0x504b0304) return "zip";
  if (head.length >= 3 && head.toString("latin1", 0, 3) === "BZh") return "bzip2";
  return null;
}

/** BGZF: a gzip member with FEXTRA carrying the `BC` subfield (SAM/BAM spec §4.1). */
export function isBgzf(head: Buffer): boolean {
  return head.length >= 18 && head[0] === 0x1f && head[1] === 0x8b && (head[3]! & 0x04) !== 0 && head[12] === 0x42 && head[13] === 0x43;
}

/**
 * Inflates the start of a (truncated) gzip head: at most `limit` bytes of output. Only a slice of
 * the input is inflated so that highly compressible data cannot blow up (deflate tops out near
 * 1:1032). Empty when the bytes do not inflate.
 */
export function gunzipHead(head: Buffer, limit = 64 * 1024): Buffer {
  for (const slice of [8192, 1024]) {
    try {
      const out = gunzipSync(head.subarray(0, slice), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: slice * 1100 });
      return out.subarray(0, limit);
    } catch {
      // too much output for this slice (RangeError) or not gzip: try a smaller slice, then give up
    }
  }
  return Buffer.alloc(0);
}

/** Binary formats recognised by magic, uncompressed. */
export function binaryMagic(head: Buffer): string | null {
  if (head.length >= 4) {
    const le = head.readUInt32LE(0);
    if (le === 0x888ffc26) return "bigwig";
    if (le === 0x8789f2eb) return "bigbed";
    if (head.toString("latin1", 0, 4) === "CRAM") return "cram";
    if (head.toString("latin1", 0, 4) === "BAM\u0001") return "bam";
    if (head.toString("latin1", 0, 4) === "%PDF") return "pdf";
  }
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]))) return "h5";
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "png";
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpg";
  return null;
}

/** Text unless it holds NUL bytes or is mostly not printable (UTF-8 multibyte counts as text). */
export function looksBinary(head: Buffer): boolean {
  if (head.includes(0)) return true;
  let odd = 0;
  for (const b of head) if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) odd++;
  return head.length > 0 && odd / head.length > 0.1;
}
