import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a real server whose upstream direction (client → server) is limited to
 * `bytesPerSecond`: a slow network link. Bytes pass unchanged, so signed requests (SigV4 signs the
 * Host header as sent) stay valid. Lets a test make an upload last a known minimum time whatever
 * the machine's speed.
 */
export interface SlowLink {
  /** `http://127.0.0.1:<port>`, to use instead of the server's own URL. */
  url: string;
  /** Bytes forwarded upstream so far. */
  bytesUp(): number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export interface SlowLinkOptions {
  /** The downstream direction (server → client: downloads) is limited too. */
  both?: boolean;
  /**
   * `true`: each connection has a link of `bytesPerSecond` of its own (a provider that limits each
   * connection, as object stores across a WAN do); `false` (default): all share one link.
   */
  perConnection?: boolean;
  /**
   * Added once per request, in ms: when a client starts sending after the server has answered
   * (or on a new connection), that first byte waits this long, as across a network with this
   * round-trip time. At the TCP level a request is "the client speaks after the server did", so a
   * body sent after `100 Continue` waits once more, as it does on a real network.
   */
  latencyMs?: number;
}

export async function startSlowLink(target: string, bytesPerSecond: number, options: SlowLinkOptions = {}): Promise<SlowLink> {
  const { hostname, port } = new URL(target);
  const shared = { next: 0 }; // when the shared link is free again (ms)
  let up = 0;
  let accepted = 0;
  const latency = options.latencyMs ?? 0;
  const sockets = new Set<Socket>();
  /**
   * Forwards `from` to `to` at the link's pace: each chunk is written at once and the link counts
   * as busy for its transfer time; while it is busy beyond now, `from` is paused (backpressure
   * reaches the sender through TCP). No stream or timer per chunk: the proxy must cost little CPU,
   * as it shares this machine with what it measures. `turn.server`: the server spoke last on this
   * connection (the client's next byte starts a request and waits the latency first).
   */
  const forward = (from: Socket, to: Socket, link: { next: number }, turn: { server: boolean }, upward: boolean) => {
    const queue: Buffer[] = [];
    let timer = false;
    let blocked = false;
    let ended = false;
    const pump = () => {
      timer = false;
      while (queue.length > 0 && !blocked) {
        const now = Date.now();
        if (upward && turn.server && latency > 0) {
          turn.server = false;
          link.next = Math.max(now, link.next) + latency;
        }
        if (link.next > now + 1) {
          timer = true;
          setTimeout(pump, link.next - now);
          return;
        }
        const chunk = queue.shift()!;
        link.next = Math.max(now, link.next) + (chunk.length / bytesPerSecond) * 1000;
        if (upward) up += chunk.length;
        else turn.server = true;
        if (!to.write(chunk)) {
          blocked = true;
          to.once("drain", () => {
            blocked = false;
            pump();
          });
        }
      }
      if (queue.length === 0 && !blocked) {
        if (ended) to.end();
        else from.resume();
      }
    };
    from.on("data", (chunk: Buffer) => {
      queue.push(chunk);
      from.pause();
      if (!timer && !blocked) pump();
    });
    from.on("end", () => {
      ended = true;
      if (queue.length === 0 && !timer && !blocked) to.end();
    });
  };
  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const link = options.perConnection ? { next: 0 } : shared;
    const turn = { server: true };
    forward(client, upstream, link, turn, true);
    if (options.both) forward(upstream, client, link, turn, false);
    else if (latency > 0) {
      // Not paced, but watched: the server's answer ends the client's turn.
      upstream.on("data", () => void (turn.server = true));
      upstream.pipe(client);
    } else upstream.pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("slow link: no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    bytesUp: () => up,
    connections: () => accepted,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
