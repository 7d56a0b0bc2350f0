// A fault proxy of our own (issue 25, case 3): an HTTP proxy in front of radosgw or Azurite that
// answers some requests itself with the provider's own error (500, 503 / S3 `SlowDown` / Azure
// `ServerBusy` with Retry-After, 429), resets the connection before or in the middle of a body,
// stalls a body for a while, or lets a request through and loses its answer. Which request gets
// which fault is drawn from a PRNG with a fixed seed, printed by the test, at a given rate, and
// `burst(n)` faults the next n requests whatever the draw. Requests pass with their headers
// unchanged (SigV4 signs the Host header as the client sent it; Azure's shared key signs none of
// it), so signatures stay valid.
import { once } from "node:events";
import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * - `internal`: 500 InternalError, the request never reaches the server.
 * - `busy`: 503 with Retry-After, S3 `SlowDown` / Azure `ServerBusy`.
 * - `throttle`: 429 with Retry-After (`SlowDown` / `TooManyRequests`), as S3-compatible services answer.
 * - `reset`: the connection reset as soon as the request's head arrives.
 * - `reset-mid`: the request forwarded, the connection reset halfway through its body (an upload)
 *   or, for a request without one, halfway through the answer's body (a download).
 * - `stall`: the body stops for `stallMs` halfway through, then goes on.
 * - `lost-answer`: the request goes through, the server acts on it, and the client gets a 500
 *   instead of its answer (did it happen? the client cannot know).
 */
export const FaultKinds = ["internal", "busy", "throttle", "reset", "reset-mid", "stall", "lost-answer"] as const;
export type FaultKind = (typeof FaultKinds)[number];

/** A fault that does not pass: every matching request is answered with this provider error. */
export interface PermanentFault {
  status: number;
  code: string;
  message: string;
}

export interface FaultProxyOptions {
  /** The server's URL (`http://127.0.0.1:7480`); only its origin is used. */
  target: string;
  flavor: "s3" | "azure";
  seed: number;
  /** Probability that a request gets a fault (0..1). */
  rate: number;
  kinds?: readonly FaultKind[];
  stallMs?: number;
  /** Which requests may be faulted (default: all). */
  only?: (req: IncomingMessage) => boolean;
  /** Every request waits this long before it is handled: a distant provider (default 0). */
  latencyMs?: number;
  /** A fixed port (the chaos bench); default any free one. */
  port?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, to use as the provider's endpoint. */
  url: string;
  host: string;
  readonly seed: number;
  /** Requests seen that may be faulted (`only`), and how many got each fault. */
  stats(): { requests: number; faults: Record<FaultKind | "permanent", number> };
  /** Faults at the given rate from now on (0: none). */
  setRate(rate: number): void;
  /** The next `n` matching requests (and matching `match`, when given) get a fault (of `kind`, else drawn). */
  burst(n: number, kind?: FaultKind, match?: (req: IncomingMessage) => boolean): void;
  /** The faulted requests so far, oldest first: `<fault> <METHOD> <path>?<query keys>`. */
  faulted(): string[];
  /** Starts the sequence of draws again from `seed` (a chaos run's next schedule). */
  reseed(seed: number): void;
  /** Every matching request answered with this error until cleared (undefined). */
  setPermanent(fault: PermanentFault | undefined): void;
  close(): Promise<void>;
}

/** mulberry32: a small seeded PRNG, the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFaultProxy(o: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(o.target);
  const kinds = o.kinds ?? FaultKinds;
  const stallMs = o.stallMs ?? 2000;
  let seed = o.seed;
  let random = seededRandom(seed);
  let rate = o.rate;
  let burst: { left: number; kind: FaultKind | undefined; match: ((req: IncomingMessage) => boolean) | undefined } = { left: 0, kind: undefined, match: undefined };
  let permanent: PermanentFault | undefined;
  let requests = 0;
  const faults = Object.fromEntries([...FaultKinds, "permanent"].map((k) => [k, 0])) as Record<FaultKind | "permanent", number>;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const log: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const pick = (req: IncomingMessage): FaultKind | "permanent" | undefined => {
    if (o.only && !o.only(req)) return undefined;
    requests += 1;
    if (permanent) return "permanent";
    // Always two draws per request, so the sequence of faults depends only on the seed and the order of requests.
    const hit = random() < rate;
    const kind = kinds[Math.floor(random() * kinds.length)]!;
    if (burst.left > 0 && (!burst.match || burst.match(req))) {
      burst.left -= 1;
      return burst.kind ?? kind;
    }
    return hit ? kind : undefined;
  };

  const errorBody = (code: string, message: string) =>
    o.flavor === "s3"
      ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`
      : `\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:fault-proxy\nTime:${new Date().toISOString()}</Message></Error>`;
  const answer = (res: ServerResponse, status: number, code: string, message: string, retryAfter?: number) => {
    const body = errorBody(code, message);
    const headers: Record<string, string | number> = { "content-type": "application/xml", "content-length": Buffer.byteLength(body) };
    if (o.flavor === "azure") Object.assign(headers, { "x-ms-error-code": code, "x-ms-request-id": "fault-proxy" });
    else Object.assign(headers, { "x-amz-request-id": "fault-proxy" });
    if (retryAfter !== undefined) headers["retry-after"] = retryAfter;
    res.writeHead(status, headers).end(body);
  };
  // Answered once the request's body has arrived, as a server that read it would.
  const answerAfterBody = (req: IncomingMessage, res: ServerResponse, ...a: Parameters<typeof answer> extends [unknown, ...infer R] ? R : never) => {
    req.resume();
    req.once("end", () => answer(res, ...a));
  };

  const forward = (req: IncomingMessage, res: ServerResponse, fault: FaultKind | undefined) => {
    const headers = { ...req.headers };
    // Hop-by-hop, and `expect` (never signed): the proxy's own connection to the server handles them.
    delete headers.connection;
    delete headers["keep-alive"];
    delete headers.expect;
    const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent });
    const fail = () => {
      up.destroy();
      req.socket.destroy();
    };
    up.on("error", fail);
    req.on("error", fail);
    res.on("error", fail);
    const length = Number(req.headers["content-length"] ?? 0);
    const bodyFault = (fault === "reset-mid" || fault === "stall") && length > 0;
    let passed = 0;
    let tripped = false;
    req.on("data", (chunk: Buffer) => {
      if (bodyFault && !tripped && passed + chunk.length >= length / 2) {
        tripped = true;
        const half = Math.max(0, Math.floor(length / 2) - passed);
        up.write(chunk.subarray(0, half));
        passed += half;
        if (fault === "reset-mid") return fail();
        req.pause();
        later(stallMs, () => {
          up.write(chunk.subarray(half));
          req.resume();
        });
        return;
      }
      passed += chunk.length;
      if (!up.write(chunk)) {
        req.pause();
        up.once("drain", () => req.resume());
      }
    });
    req.on("end", () => up.end());
    req.resume(); // paused while it waited out the latency
    up.on("response", (r) => {
      if (fault === "lost-answer") {
        r.resume();
        r.once("end", () => answer(res, 500, "InternalError", "We encountered an internal error. Please try again."));
        return;
      }
      res.writeHead(r.statusCode ?? 502, r.headers);
      const total = Number(r.headers["content-length"] ?? 0);
      // A download broken (or stalled) halfway: the request had no body to fault.
      const answerFault = (fault === "reset-mid" || fault === "stall") && length === 0 && total > 1;
      let sent = 0;
      let broke = false;
      r.on("data", (chunk: Buffer) => {
        if (answerFault && !broke && sent + chunk.length >= total / 2) {
          broke = true;
          const half = Math.max(0, Math.floor(total / 2) - sent);
          res.write(chunk.subarray(0, half));
          sent += half;
          if (fault === "reset-mid") return fail();
          r.pause();
          later(stallMs, () => {
            res.write(chunk.subarray(half));
            r.resume();
          });
          return;
        }
        sent += chunk.length;
        if (!res.write(chunk)) {
          r.pause();
          res.once("drain", () => r.resume());
        }
      });
      r.on("end", () => res.end());
      r.on("error", fail);
    });
  };

  const server: Server = createServer((req, res) => {
    if (!o.latencyMs) return handle(req, res);
    req.pause();
    later(o.latencyMs, () => handle(req, res));
  });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const fault = pick(req);
    if (fault) {
      faults[fault] += 1;
      const url = new URL(req.url ?? "/", "http://x");
      log.push(`${fault} ${req.method} ${url.pathname}${url.search ? `?${[...url.searchParams.keys()].join("&")}` : ""}`);
    }
    const s3 = o.flavor === "s3";
    switch (fault) {
      case "permanent":
        return answerAfterBody(req, res, permanent!.status, permanent!.code, permanent!.message);
      case "internal":
        return answerAfterBody(req, res, 500, "InternalError", s3 ? "We encountered an internal error. Please try again." : "The server encountered an internal error. Please retry the request.");
      case "busy":
        return answerAfterBody(req, res, 503, s3 ? "SlowDown" : "ServerBusy", s3 ? "Please reduce your request rate." : "The server is currently unable to receive requests. Please retry your request.", 1);
      case "throttle":
        return answerAfterBody(req, res, 429, s3 ? "SlowDown" : "TooManyRequests", "Please reduce your request rate.", 1);
      case "reset":
        return req.socket.resetAndDestroy();
      default:
        return forward(req, res, fault);
    }
  };
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  server.listen(o.port ?? 0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fault proxy: no port");
  const host = `127.0.0.1:${address.port}`;
  return {
    url: `http://${host}`,
    host,
    get seed() {
      return seed;
    },
    reseed: (s) => {
      seed = s;
      random = seededRandom(s);
    },
    stats: () => ({ requests, faults: { ...faults } }),
    faulted: () => [...log],
    setRate: (r) => void (rate = r),
    burst: (n, kind, match) => void (burst = { left: n, kind, match }),
    setPermanent: (f) => void (permanent = f),
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
