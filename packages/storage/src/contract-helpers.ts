import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { BodyReader } from "./port.ts";

/** Random bytes; big buffers repeat one random block (urandom is slow on the test machines). */
export function testBytes(size: number): Buffer {
  if (size <= 1024 * 1024) return randomBytes(size);
  const block = randomBytes(1024 * 1024 + 7);
  const out = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += block.length) block.copy(out, o, 0, Math.min(block.length, size - o));
  return out;
}

export const sha256Hex = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
export const md5Hex = (b: Buffer): string => createHash("md5").update(b).digest("hex");

/** A stream of `data` in 64 KiB chunks. */
export function bodyOf(data: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let o = 0; o < data.length; o += chunk) yield data.subarray(o, Math.min(o + chunk, data.length));
    })(),
  );
}

/**
 * A BodyReader over `data` (as a file's positional reads), each read at most `maxRead` bytes (a
 * file may answer short reads); `closes()` counts its close calls; `delayMs` slows every read.
 */
export function readerOf(data: Buffer, options: { maxRead?: number; delayMs?: number } = {}): BodyReader & { closes(): number } {
  let closes = 0;
  return {
    async read(into, offset, length, position) {
      if (options.delayMs) await sleep(options.delayMs);
      const end = Math.min(position + Math.min(length, options.maxRead ?? length), data.length);
      return position >= data.length ? 0 : data.copy(into, offset, position, end);
    },
    async close() {
      closes++;
    },
    closes: () => closes,
  };
}

/** A stream that delivers the first `failAfter` bytes of `data`, then errors (a crashed source). */
export function failingBody(data: Buffer, failAfter: number): Readable {
  return Readable.from(
    (async function* () {
      for (let o = 0; o < failAfter; o += 64 * 1024) yield data.subarray(o, Math.min(o + 64 * 1024, failAfter));
      await sleep(10);
      throw new Error("source failed (test)");
    })(),
  );
}

/** A stream of `data` that pauses `delayMs` after every `every` bytes (a slow source). */
export function slowBody(data: Buffer, every: number, delayMs: number): Readable {
  return Readable.from(
    (async function* () {
      for (let o = 0; o < data.length; o += 64 * 1024) {
        if (o > 0 && o % every === 0) await sleep(delayMs);
        yield data.subarray(o, Math.min(o + 64 * 1024, data.length));
      }
    })(),
  );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A bucket/container name valid for S3 and Azure. */
export function uniqueBucket(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/**
 * A variable of the local test stack: from the environment, else from `<repo>/.stack/env`
 * (written by `scripts/stack.sh up`). @throws Error when neither has it.
 */
export function stackVar(name: string): string {
  const fromEnv = process.env[name];
  if (fromEnv) return fromEnv;
  const file = resolve(process.env.SKYFERRY_STACK_DIR ?? resolve(import.meta.dirname, "../../../.stack"), "env");
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = line.match(/^(?:export\s+)?([A-Z0-9_]+)=['"]?(.*?)['"]?$/);
      if (m?.[1] === name && m[2]) return m[2];
    }
  }
  throw new Error(`${name} is not set: run 'bash scripts/stack.sh up' and 'source .stack/env' first`);
}
