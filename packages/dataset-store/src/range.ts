import { invalidRange } from "./errors.ts";

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Validates an inclusive byte range against the blob's size: `end` past the last byte is clamped
 * (as HTTP does); `start` equal to the size reads nothing; `start` beyond it is refused.
 */
export function checkRange(range: ByteRange | undefined, size: number): { start: number; end: number } | "empty" | undefined {
  if (!range) return undefined;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw invalidRange(`Invalid byte range ${start}-${end ?? ""}.`);
  }
  if (start > size) throw invalidRange(`Byte range ${start}-${end ?? ""} starts beyond the end (${size} bytes).`);
  if (start === size) return "empty";
  return { start, end: Math.min(end ?? size - 1, size - 1) };
}
