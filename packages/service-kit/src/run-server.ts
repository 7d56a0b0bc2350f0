import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";

export interface RunningServer {
  url: string;
  /** Stops accepting requests, lets `app.close()` hooks finish work, then runs `closers` in order. */
  shutdown(reason: string): Promise<void>;
}

export interface RunServerOptions {
  app: FastifyInstance;
  host: string;
  port: number;
  logger: Logger;
  /** Run after the HTTP server closed, in order (e.g. drain NATS, close MongoDB). */
  closers: Array<{ name: string; close: () => Promise<void> }>;
  /** Hard deadline for a graceful shutdown before the process exits anyway. */
  shutdownTimeoutMs?: number;
}

/** Listens, and installs SIGTERM/SIGINT handlers that shut down gracefully once. */
export async function runServer(options: RunServerOptions): Promise<RunningServer> {
  const { app, logger } = options;
  const url = await app.listen({ host: options.host, port: options.port });
  logger.info({ url }, "listening");
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      logger.info({ reason }, "shutting down");
      const deadline = setTimeout(() => {
        logger.error({ reason }, "graceful shutdown timed out; exiting");
        process.exit(1);
      }, options.shutdownTimeoutMs ?? 30_000);
      deadline.unref();
      try {
        await app.close();
        for (const c of options.closers) {
          try {
            await c.close();
          } catch (err) {
            logger.warn({ err, resource: c.name }, "close failed");
          }
        }
        logger.info("shutdown complete");
      } finally {
        clearTimeout(deadline);
      }
    })();
    return shuttingDown;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
  return { url, shutdown };
}

/** A name for this process, unique enough to tell replicas apart in logs and replies. */
export function instanceId(service: string): string {
  return `${service}-${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}
