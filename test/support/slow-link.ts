import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { Transform, type TransformCallback } from "node:stream";

/**
 * A TCP proxy in front of a real server whose upstream direction (client → server) is limited to
 * `bytesPerSecond`, shared by every connection: a slow network link. Bytes pass unchanged, so
 * signed requests (SigV4 signs the Host header as sent) stay valid. Lets a test make an upload last
 * a known minimum time whatever the machine's speed.
 */
export interface SlowLink {
  /** `http://127.0.0.1:<port>`, to use instead of the server's own URL. */
  url: string;
  /** Bytes forwarded upstream so far. */
  bytesUp(): number;
  close(): Promise<void>;
}

/** `both`: the downstream direction (server → client: downloads) shares the same limit. */
export async function startSlowLink(target: string, bytesPerSecond: number, options: { both?: boolean } = {}): Promise<SlowLink> {
  const { hostname, port } = new URL(target);
  let next = 0; // when the link is free again (ms), across all connections
  let up = 0;
  const sockets = new Set<Socket>();
  const pace = (upward = true) =>
    new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        const start = Math.max(Date.now(), next);
        next = start + (chunk.length / bytesPerSecond) * 1000;
        if (upward) up += chunk.length;
        setTimeout(() => cb(null, chunk), next - Date.now());
      },
    });
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(pace()).pipe(upstream);
    if (options.both) upstream.pipe(pace(false)).pipe(client);
    else upstream.pipe(client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("slow link: no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    bytesUp: () => up,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
