import { GalaxyCode, SkyferryError } from "@skyferry/errors";
import type { Db, IndexDescription } from "mongodb";

/**
 * Failed authentications, counted where every gateway replica's requests meet: in MongoDB, one
 * document per counter with a fixed window (FerretDB has no TTL indexes, so expired counters are
 * ignored by the queries and swept now and then). Counters are per client address (as the gateway
 * determined it, believing X-Forwarded-For only from its trusted proxies) and per credential (a
 * prefix of the credential's SHA-256, so one wrong key retried from many addresses is limited too).
 *
 * The limiter only ever answers for credentials that did NOT resolve: valid keys and sessions are
 * served whatever others' failures from the same address (behind a proxy or NAT, one bad client
 * must not lock out everyone).
 */
export interface FailureLimiter {
  /**
   * Records a failed attempt and answers the error to send: the credential's own refusal (401) while
   * under the limit, 429 AUTH_RATE_LIMITED once the client or the credential is over it.
   */
  refuse(attempt: { client?: string | undefined; credentialSha256: string }, refusal: SkyferryError): Promise<SkyferryError>;
}

interface CounterDoc {
  _id: string;
  count: number;
  expires_at: Date;
}

const SWEEP_EVERY_MS = 60_000;

/** The sweep deletes expired counters by `expires_at` (FerretDB has no TTL indexes; MongoDB could use one). */
export const authFailureIndexes: Record<string, IndexDescription[]> = {
  auth_failures: [{ key: { expires_at: 1 }, name: "expires_at" }],
};

export const tooManyFailures = (retryAfterSeconds: number) =>
  new SkyferryError("AUTH_RATE_LIMITED", `Too many failed authentication attempts; try again in ${retryAfterSeconds} s.`, {
    status: 429,
    errCode: GalaxyCode.rateLimited,
  });

export function createFailureLimiter({ db, limit, windowMs, now }: { db: Db; limit: number; windowMs: number; now: () => Date }): FailureLimiter {
  const col = db.collection<CounterDoc>("auth_failures");
  let lastSweep = 0;

  /** The current count of a counter after this failure (the window starts at its first failure). */
  async function bump(id: string, t: Date): Promise<CounterDoc> {
    const live = await col.findOneAndUpdate({ _id: id, expires_at: { $gt: t } }, { $inc: { count: 1 } }, { returnDocument: "after" });
    if (live) return live;
    const fresh = { _id: id, count: 1, expires_at: new Date(t.getTime() + windowMs) };
    // A new window (or an expired one replaced); two replicas starting it at once may each count 1.
    await col.replaceOne({ _id: id }, fresh, { upsert: true });
    return fresh;
  }

  return {
    async refuse({ client, credentialSha256 }, refusal) {
      const t = now();
      const ids = [`cred:${credentialSha256.slice(0, 32)}`, ...(client ? [`ip:${client.slice(0, 64)}`] : [])];
      const counters = await Promise.all(ids.map((id) => bump(id, t)));
      if (t.getTime() - lastSweep > SWEEP_EVERY_MS) {
        lastSweep = t.getTime();
        void col.deleteMany({ expires_at: { $lte: t } }).catch(() => undefined);
      }
      // The first `limit` failures of a window are the credential's own 401; later ones 429.
      const over = counters.filter((c) => c.count > limit);
      if (over.length === 0) return refusal;
      const until = Math.max(...over.map((c) => c.expires_at.getTime()));
      return tooManyFailures(Math.max(1, Math.ceil((until - t.getTime()) / 1000)));
    },
  };
}
