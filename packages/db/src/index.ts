import { type Db, type IndexDescription, MongoClient } from "mongodb";

import { shapeRecorder } from "./query-shapes.ts";
import { withConflictRetry } from "./write-conflicts.ts";
import { isDatabaseUnavailable } from "./unavailable.ts";

export type { Collection, Db, MongoClient } from "mongodb";
export { FERRETDB, findIn, isFerretDB } from "./find-in.ts";
export { type QueryShape, servedBy, shapeOf, shapeRecorder } from "./query-shapes.ts";
export { isDatabaseUnavailable } from "./unavailable.ts";
export { isWriteConflict, REVISION_FIELD, REVISION_STEP_FIELD, retryWriteConflicts, WRITE_METHODS, withConflictRetry, withRevision } from "./write-conflicts.ts";

export interface MongoLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ConnectMongoOptions {
  url: string;
  dbName: string;
  logger: MongoLogger;
  /** Attempts before giving up (the server may still be starting). */
  attempts?: number;
  /** Delay between attempts in ms, doubled each time up to 5 s. */
  delayMs?: number;
  /** Append the shape of every query to this file (`SKYFERRY_DB_QUERY_SHAPES`; the tests' index check). */
  queryShapesFile?: string | undefined;
  /** An operation without an answer for this long fails (transient). Default 120 s. */
  socketTimeoutMs?: number;
}

export interface Mongo {
  client: MongoClient;
  db: Db;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects with retry and checks the server answers. Works against MongoDB and FerretDB:
 * callers use single-document atomic operations and unique indexes only (no transactions,
 * no change streams). The `db` retries writes that lost a race (`withConflictRetry`).
 */
export async function connectMongo(options: ConnectMongoOptions): Promise<Mongo> {
  const attempts = options.attempts ?? 10;
  let delay = options.delayMs ?? 200;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // No operation waits for its answer for ever: the driver's default (socketTimeoutMS 0) would
    // leave a job's run, and the worker slot it holds, hanging on a server that took a request and
    // never answered (a database restarted under it). Ours take milliseconds to seconds; past
    // this the operation fails as MongoNetworkTimeoutError, which is transient (isDatabaseUnavailable).
    const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 3000, socketTimeoutMS: options.socketTimeoutMs ?? 120_000, appName: options.dbName });
    try {
      await client.connect();
      const raw = client.db(options.dbName);
      await raw.command({ ping: 1 });
      const info = await raw.admin().command({ buildInfo: 1 });
      const ferretdb = typeof info.ferretdbVersion === "string";
      const onQuery = options.queryShapesFile ? shapeRecorder(options.queryShapesFile, options.dbName) : undefined;
      const db = withConflictRetry(raw, { ferretdb, ...(onQuery ? { onQuery } : {}) });
      options.logger.info({ db: options.dbName, attempt, server: ferretdb ? `FerretDB ${String(info.ferretdbVersion)}` : `MongoDB ${String(info.version)}` }, "mongodb connected");
      return {
        client,
        db,
        ping: async () => {
          try {
            await db.command({ ping: 1 });
            return true;
          } catch {
            return false;
          }
        },
        close: () => client.close(),
      };
    } catch (err) {
      lastError = err;
      await client.close().catch(() => undefined);
      options.logger.warn({ err, attempt, attempts }, "mongodb not reachable yet");
      if (attempt < attempts) await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
  throw new Error(`MongoDB at ${redactUrl(options.url)} not reachable after ${attempts} attempts`, { cause: lastError });
}

/**
 * Creates the given indexes per collection that do not exist yet; run at start-up.
 * Existing ones are skipped rather than re-declared: FerretDB 1.x closes the connection when
 * `createIndexes` names an index that already exists -- which two replicas starting together (npm
 * start's two transfer workers) still race into: one lists an index as missing while the other
 * creates it (FerretDB logged "slice bounds out of range" and dropped the connection, and the
 * worker's start-up failed). A database error of that kind is therefore tried again, a few times:
 * the next pass finds the index there.
 */
export async function ensureIndexes(db: Db, specs: Record<string, IndexDescription[]>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createMissingIndexes(db, specs);
    } catch (err) {
      if (attempt >= 5 || !isDatabaseUnavailable(err)) throw err;
      await new Promise((r) => setTimeout(r, 250 * attempt + Math.floor(Math.random() * 250)));
    }
  }
}

async function createMissingIndexes(db: Db, specs: Record<string, IndexDescription[]>): Promise<void> {
  for (const [collection, indexes] of Object.entries(specs)) {
    if (indexes.length === 0) continue;
    const existing = await db
      .collection(collection)
      .listIndexes()
      .toArray()
      .catch(() => [] as Array<{ name?: string; key?: Record<string, unknown> }>);
    const have = new Set(existing.map((i) => JSON.stringify(i.key ?? {})));
    const names = new Set(existing.map((i) => i.name));
    const missing = indexes.filter((i) => !have.has(JSON.stringify(i.key)) && !(i.name && names.has(i.name)));
    if (missing.length > 0) await db.collection(collection).createIndexes(missing);
  }
}

/** True when a write failed on a unique index (E11000). */
export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === 11000;
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]+)@/, "//[redacted]@");
}
