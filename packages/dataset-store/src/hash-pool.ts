import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";

/** Hex digests of a stream's bytes. */
export interface Digests {
  sha256: string;
  md5: string;
}

/**
 * Hashing for one stream, in pool threads. `update` copies the bytes (the caller may reuse or pass
 * on its chunk at once) and answers a promise while too many bytes wait for the threads (the caller
 * then waits: backpressure); `digest` ends the stream.
 */
export interface HashSession {
  update(chunk: Buffer): Promise<void> | undefined;
  digest(): Promise<Digests>;
  /** Forgets the stream (its threads drop the state). */
  abort(): void;
}

export interface HashPool {
  /** A stream to hash; `direct`: it is known to be large, so its bytes go to the threads from the first (no staging). */
  session(options?: { direct?: boolean }): HashSession;
  /** Stops the threads; sessions still open fail. Never throws. */
  close(): Promise<void>;
}

type Algorithm = "sha256" | "md5";

/** Bytes per message to the threads: the copy into a batch is cheap, a message is not (about 20 µs). */
const BATCH = 1024 * 1024;
/** Batches of one stream waiting for its threads before `update` asks the caller to wait. */
const MAX_IN_FLIGHT = 4;
/** Batches of all streams waiting for the threads before `update` asks its caller to wait (bounds the pool's memory). */
const POOL_IN_FLIGHT = 8;


// CommonJS evaluated in the thread: no file to find next to a bundled service. A batch is a
// SharedArrayBuffer: the sha256 and the md5 thread of a stream read the same copy.
const THREAD_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const open = new Map();
parentPort.on("message", (m) => {
  if (m.op === "open") {
    open.set(m.id, m.algorithms.map((a) => [a, createHash(a)]));
  } else if (m.op === "data") {
    const b = new Uint8Array(m.buf, 0, m.len);
    for (const [, h] of open.get(m.id) ?? []) h.update(b);
    parentPort.postMessage({ op: "ack", id: m.id, seq: m.seq });
  } else if (m.op === "end") {
    const out = {};
    for (const [a, h] of open.get(m.id) ?? []) out[a] = h.digest("hex");
    open.delete(m.id);
    parentPort.postMessage({ op: "digest", id: m.id, digests: out });
  } else if (m.op === "drop") {
    open.delete(m.id);
  }
});
`;

type Reply = { op: "ack"; id: number; seq: number } | { op: "digest"; id: number; digests: Partial<Digests> };

interface Stream {
  reply(m: Reply): void;
  fail(err: Error): void;
}

interface Thread {
  worker: Worker;
  streams: Map<number, Stream>;
  dead: boolean;
}

/**
 * sha256 and md5 (about 0.6 and 1.4 ns per byte on one core) computed in worker threads instead of
 * the event loop: with two or more threads a lone stream's sha256 and md5 run in two threads at
 * once, and concurrent streams spread over the pool. Threads start on first use and do not keep the
 * process alive. A stream shorter than one batch (1 MiB) is hashed on the event loop at its end
 * and never costs a message.
 */
export function createHashPool(threads: number): HashPool {
  const size = Math.max(1, Math.floor(threads));
  const pool: Thread[] = [];
  const spare: SharedArrayBuffer[] = [];
  let nextId = 1;
  let closed = false;
  /** Batches posted by every stream and not yet hashed by all their lanes. */
  let inFlight = 0;
  const waiting = new Set<() => void>();
  /** After an ack: let the streams waiting for room retry. */
  const room = () => {
    for (const w of [...waiting]) w();
  };
  // Every batch is reused, never dropped: a SharedArrayBuffer a thread has seen lives until that
  // thread's garbage collector runs, which a thread that only hashes seldom needs (dropped batches
  // piled up to hundreds of MiB). Their number is bounded by the streams open at once and
  // POOL_IN_FLIGHT.
  const take = () => spare.pop() ?? new SharedArrayBuffer(BATCH);
  const recycle = (buf: SharedArrayBuffer) => {
    spare.push(buf);
  };
  const start = (): Thread => {
    // No inherited flags: the source is plain CommonJS whatever loader or input type the service runs with.
    const t: Thread = { worker: new Worker(THREAD_SOURCE, { eval: true, execArgv: [] }), streams: new Map(), dead: false };
    const die = (err: Error) => {
      t.dead = true;
      for (const s of t.streams.values()) s.fail(err);
      t.streams.clear();
    };
    t.worker.on("message", (m: Reply) => t.streams.get(m.id)?.reply(m));
    t.worker.on("error", die);
    t.worker.on("exit", (code) => die(new Error(`a hashing thread exited (code ${code})`)));
    // An idle thread does not keep the process alive; one hashing a stream does (see attach/detach).
    // After the listeners: adding a "message" listener refs the worker's port again.
    t.worker.unref();
    return t;
  };
  const attach = (t: Thread, id: number, stream: Stream) => {
    if (t.streams.size === 0) t.worker.ref();
    t.streams.set(id, stream);
  };
  const detach = (t: Thread, id: number) => {
    if (t.streams.delete(id) && t.streams.size === 0) t.worker.unref();
  };
  /** The `n` least busy threads, starting threads up to the pool's size. */
  const pick = (n: number): Thread[] => {
    for (let i = pool.length - 1; i >= 0; i--) if (pool[i]!.dead) pool.splice(i, 1);
    while (pool.length < size) pool.push(start());
    return [...pool].sort((a, b) => a.streams.size - b.streams.size).slice(0, n);
  };

  return {
    session(options: { direct?: boolean } = {}): HashSession {
      if (closed) throw new Error("the hash pool is closed");
      const id = nextId++;
      let lanes: Array<{ thread: Thread; algorithms: Algorithm[] }> | undefined;
      let batch: { buf: SharedArrayBuffer; view: Buffer } | undefined;
      let filled = 0;
      let seq = 0;
      /** Batches posted and not yet acknowledged by every lane, by sequence number. */
      const pending = new Map<number, { buf: SharedArrayBuffer; acks: number }>();
      let failed: Error | undefined;
      let wake: { resolve(): void; reject(err: Error): void } | undefined;
      let done: { resolve(d: Digests): void; reject(err: Error): void; got: Partial<Digests>; answers: number } | undefined;
      // Until a stream passes one batch its bytes are only copied aside: a small stream is hashed
      // here, at its end, and never pays for a message.
      let staged: Buffer[] | undefined = options.direct ? undefined : [];
      let stagedBytes = 0;
      const stream: Stream = {
        reply(m: Reply) {
          if (m.op === "ack") {
            const p = pending.get(m.seq);
            if (p && ++p.acks === lanes!.length) {
              pending.delete(m.seq);
              inFlight--;
              recycle(p.buf);
              room();
            }
          } else if (done) {
            Object.assign(done.got, m.digests);
            if (++done.answers === lanes!.length) {
              for (const l of lanes!) detach(l.thread, id);
              done.resolve({ sha256: done.got.sha256!, md5: done.got.md5! });
            }
          }
        },
        fail(err: Error) {
          failed ??= err;
          inFlight -= pending.size;
          pending.clear();
          wake?.reject(err);
          done?.reject(err);
          room();
        },
      };
      const openLanes = () => {
        const picked = pick(2);
        // Alone, a stream's md5 and sha256 run in two threads; with streams enough to keep every thread
        // busy, each stream goes whole to one thread (one message per batch instead of two).
        const busy = pool.reduce((n, t) => n + t.streams.size, 0) >= pool.length;
        lanes = picked.length >= 2 && !busy
          ? [{ thread: picked[0]!, algorithms: ["md5"] }, { thread: picked[1]!, algorithms: ["sha256"] }]
          : [{ thread: picked[0]!, algorithms: ["sha256", "md5"] }];
        for (const l of lanes) {
          attach(l.thread, id, stream);
          l.thread.worker.postMessage({ op: "open", id, algorithms: l.algorithms });
        }
      };
      const post = () => {
        if (!lanes) openLanes();
        const { buf } = batch!;
        pending.set(++seq, { buf, acks: 0 });
        inFlight++;
        for (const l of lanes!) l.thread.worker.postMessage({ op: "data", id, seq, buf, len: filled });
        batch = undefined;
        filled = 0;
      };
      const copyIn = (chunk: Buffer) => {
        for (let off = 0; off < chunk.length; ) {
          if (!batch) {
            const buf = take();
            batch = { buf, view: Buffer.from(buf) };
          }
          const n = chunk.copy(batch.view, filled, off);
          filled += n;
          off += n;
          if (filled === BATCH) post();
        }
      };
      return {
        update(chunk) {
          if (failed) return Promise.reject(failed);
          if (staged) {
            if (stagedBytes + chunk.length <= BATCH) {
              staged.push(Buffer.from(chunk));
              stagedBytes += chunk.length;
              return undefined;
            }
            const early = staged;
            staged = undefined;
            for (const c of early) copyIn(c);
          }
          copyIn(chunk);
          const full = () => pending.size >= MAX_IN_FLIGHT || inFlight >= POOL_IN_FLIGHT;
          if (!full()) return undefined;
          return new Promise<void>((resolve, reject) => {
            const retry = () => {
              if (full()) return;
              waiting.delete(retry);
              wake = undefined;
              resolve();
            };
            waiting.add(retry);
            wake = {
              resolve,
              reject: (err) => {
                waiting.delete(retry);
                reject(err);
              },
            };
          });
        },
        digest() {
          if (failed) return Promise.reject(failed);
          if (staged) {
            const sha = createHash("sha256");
            const md5 = createHash("md5");
            for (const c of staged) {
              sha.update(c);
              md5.update(c);
            }
            staged = undefined;
            return Promise.resolve({ sha256: sha.digest("hex"), md5: md5.digest("hex") });
          }
          return new Promise<Digests>((resolve, reject) => {
            done = { resolve, reject, got: {}, answers: 0 };
            if (filled > 0) post();
            for (const l of lanes!) l.thread.worker.postMessage({ op: "end", id });
          });
        },
        abort() {
          inFlight -= pending.size;
          pending.clear();
          room();
          for (const l of lanes ?? []) {
            detach(l.thread, id);
            if (!l.thread.dead) l.thread.worker.postMessage({ op: "drop", id });
          }
          if (batch) recycle(batch.buf);
          batch = undefined;
          staged = undefined;
        },
      };
    },
    async close() {
      closed = true;
      await Promise.allSettled(pool.map((t) => t.worker.terminate()));
      pool.length = 0;
    },
  };
}
