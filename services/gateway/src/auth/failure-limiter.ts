/**
 * Counts failed authentication attempts per client (IP) in a fixed window; a client over the
 * limit is refused until the window ends. Bounded: the oldest clients are forgotten first.
 * (@fastify/rate-limit counts every request; this counts failures only.)
 */
export interface FailureLimiter {
  /** Milliseconds until the client may try again, or 0 when it is not blocked. */
  blockedFor(client: string): number;
  fail(client: string): void;
}

export function createFailureLimiter({ limit, windowMs, maxClients = 50_000, now = Date.now }: { limit: number; windowMs: number; maxClients?: number; now?: () => number }): FailureLimiter {
  const clients = new Map<string, { count: number; resetAt: number }>();
  const current = (client: string) => {
    const e = clients.get(client);
    if (e && e.resetAt <= now()) {
      clients.delete(client);
      return undefined;
    }
    return e;
  };
  return {
    blockedFor(client) {
      const e = current(client);
      return e && e.count >= limit ? e.resetAt - now() : 0;
    },
    fail(client) {
      const e = current(client);
      if (e) {
        e.count++;
        return;
      }
      if (clients.size >= maxClients) clients.delete(clients.keys().next().value as string);
      clients.set(client, { count: 1, resetAt: now() + windowMs });
    },
  };
}
