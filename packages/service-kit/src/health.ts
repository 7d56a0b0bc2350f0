import type { FastifyInstance } from "fastify";

/** A named readiness check: resolves true when the dependency is usable. */
export type ReadinessCheck = () => Promise<boolean>;

export interface HealthOptions {
  service: string;
  instance: string;
  checks: Record<string, ReadinessCheck>;
}

/**
 * `GET /healthz`: the process is alive. `GET /readyz`: every dependency check passes
 * (200), or which ones fail (503). Registered by every service.
 */
export async function registerHealth(app: FastifyInstance, options: HealthOptions): Promise<void> {
  const base = { service: options.service, instance: options.instance };
  app.get("/healthz", { logLevel: "warn" }, async () => ({ status: "ok", ...base }));
  app.get("/readyz", { logLevel: "warn" }, async (_req, reply) => {
    const results = await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          return [name, await withTimeout(check(), 2000)] as const;
        } catch {
          return [name, false] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const ready = results.every(([, ok]) => ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", ...base, checks });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timeout")), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
