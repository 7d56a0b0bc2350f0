import { Transform, type TransformCallback } from "node:stream";

/** A pass-through that keeps a copy of the first `limit` bytes (for sniffing and the peek). */
export class HeadTap extends Transform {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private readonly limit: number;

  constructor(limit = 64 * 1024) {
    super();
    this.limit = limit;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.kept < this.limit) {
      const part = chunk.subarray(0, this.limit - this.kept);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    done(null, chunk);
  }

  head(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Galaxy's peek, as plain text: the first lines of a text file; null for binary content. */
export function peekOf(head: Buffer): string | null {
  if (head.length === 0 || head.includes(0)) return null;
  return head.subarray(0, 4096).toString("utf8").split(/\r?\n/).slice(0, 5).map((l) => l.slice(0, 200)).join("\n");
}

/** A short human size, Galaxy's misc_blurb style. */
export function humanSize(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/** A dataset name from an untrusted file name: the last path segment, without control characters. */
export function datasetName(raw: string | undefined, fallback: string): string {
  // eslint-disable-next-line no-control-regex
  const base = (raw ?? "").split(/[/\\]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255);
  return base || fallback;
}
