/**
 * Buffers of one size, handed out and taken back, so that reads of small datasets do not leave a
 * new buffer per job for garbage collection (V8 lets tens of MiB of dead buffers pile up before it
 * collects them, which showed as the worker's peak RSS). Keeps at most `keep` free buffers.
 * A buffer is given back only when nothing holds it any longer (its PUT has settled with success).
 */
export interface BufferPool {
  readonly size: number;
  take(): Buffer;
  give(buf: Buffer): void;
}

export function createBufferPool(size: number, keep: number): BufferPool {
  const free: Buffer[] = [];
  return {
    size,
    take: () => free.pop() ?? Buffer.allocUnsafeSlow(size),
    give(buf) {
      if (buf.length === size && free.length < keep && !free.includes(buf)) free.push(buf);
    },
  };
}
