import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { Transform, type TransformCallback } from "node:stream";

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
  /** `turn.server`: the server spoke last on this connection (the client's next byte starts a request). */
  const pace = (link: { next: number }, turn: { server: boolean }, upward: boolean) =>
    new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        let start = Math.max(Date.now(), link.next);
        if (upward && turn.server) start += latency;
        turn.server = !upward;
        link.next = start + (chunk.length / bytesPerSecond) * 1000;
        if (upward) up += chunk.length;
        setTimeout(() => cb(null, chunk), link.next - Date.now());
      },
    });
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
    client.pipe(pace(link, turn, true)).pipe(upstream);
    if (options.both) upstream.pipe(pace(link, turn, false)).pipe(client);
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
