import { createHash } from "node:crypto";

/** What a cached API key resolves to. */
export interface CachedActor {
  user_id: string;
  email: string;
}

/**
 * A short-lived, bounded map of API key -> user, so not every request asks the authz service.
 * Keys are held as SHA-256 digests; entries of a user are dropped when their keys are revoked.
 */
export interface KeyCache {
  get(key: string): CachedActor | undefined;
  set(key: string, actor: CachedActor): void;
  dropUser(userId: string): void;
}

export function createKeyCache({ ttlMs, maxEntries = 10_000, now = Date.now }: { ttlMs: number; maxEntries?: number; now?: () => number }): KeyCache {
  const entries = new Map<string, { actor: CachedActor; expires: number }>();
  const digest = (key: string) => createHash("sha256").update(key).digest("base64url");
  return {
    get(key) {
      if (ttlMs <= 0) return undefined;
      const d = digest(key);
      const e = entries.get(d);
      if (!e) return undefined;
      if (e.expires <= now()) {
        entries.delete(d);
        return undefined;
      }
      return e.actor;
    },
    set(key, actor) {
      if (ttlMs <= 0) return;
      // Map keeps insertion order: the first entry is the oldest.
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(digest(key), { actor, expires: now() + ttlMs });
    },
    dropUser(userId) {
      for (const [d, e] of entries) if (e.actor.user_id === userId) entries.delete(d);
    },
  };
}
