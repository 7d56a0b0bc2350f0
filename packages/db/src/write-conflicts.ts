import { randomInt } from "node:crypto";
import { type Collection, type Db, type Document, Double, type FindCursor } from "mongodb";
import { FERRETDB } from "./find-in.ts";
import { type QueryShape, shapeOf } from "./query-shapes.ts";

/**
 * A write that lost a race with another writer of the same document and changed nothing, so it
 * may simply be sent again: FerretDB on PostgreSQL (run at REPEATABLE READ, see
 * scripts/stack/ferretdb-postgresql.sql) answers "could not serialize access due to concurrent
 * update" (SQLSTATE 40001) or a deadlock (40P01); FerretDB on SQLite "database is locked". MongoDB
 * retries its own write conflicts of single-document operations, so none of these reach a client.
 */
export function isWriteConflict(err: unknown): boolean {
  const message = err instanceof Error ? err.message : "";
  return (
    message.includes("SQLSTATE 40001") ||
    message.includes("SQLSTATE 40P01") ||
    message.includes("could not serialize access") ||
    message.includes("SQLITE_BUSY") ||
    message.includes("database is locked")
  );
}

export interface ConflictRetryOptions {
  /** The server is FerretDB 1.x: `findIn` splits `$in` into equality lookups there. */
  ferretdb?: boolean;
  /** Told the shape of every query (`SKYFERRY_DB_QUERY_SHAPES`: the index check of the tests). */
  onQuery?: (shape: QueryShape) => void;
  /** Tries in all (default 50: forty writers of one document in one instant all get through). */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs `fn` again, after a short random pause, while it fails with a write conflict. */
export async function retryWriteConflicts<T>(fn: () => Promise<T>, options: ConflictRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 50;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isWriteConflict(err)) throw err;
      await sleep(1 + Math.random() * Math.min(100, 2 ** i));
    }
  }
}

/** The collection methods that write, and so may lose a race and be tried again. */
export const WRITE_METHODS = [
  "insertOne",
  "insertMany",
  "updateOne",
  "updateMany",
  "replaceOne",
  "deleteOne",
  "deleteMany",
  "findOneAndUpdate",
  "findOneAndReplace",
  "findOneAndDelete",
  "bulkWrite",
] as const satisfies ReadonlyArray<keyof Collection>;

/**
 * The revision fields. Every update through `withConflictRetry` adds a random step to `_rev` and
 * records the step in `_rev_step`; FerretDB's PostgreSQL storage refuses a write that changes
 * `_rev` to anything but the stored value plus the step -- a write computed from a stale read
 * (scripts/stack/ferretdb-postgresql.sql). A write that leaves `_rev` as it is (any other client:
 * mongosh, a migration) is not checked. The step is random so that two writers racing from the
 * same read never write the same `_rev` (which would look like an unchecked write). MongoDB needs
 * none of this and just counts. Reads through `withConflictRetry` never show them.
 */
export const REVISION_FIELD = "_rev";
export const REVISION_STEP_FIELD = "_rev_step";

const WRITES: ReadonlySet<PropertyKey> = new Set(WRITE_METHODS);
const UPDATES: ReadonlySet<PropertyKey> = new Set(["updateOne", "updateMany", "findOneAndUpdate"]);
const REPLACES: ReadonlySet<PropertyKey> = new Set(["replaceOne", "findOneAndReplace"]);
const DOC_RESULTS: ReadonlySet<PropertyKey> = new Set(["findOne", "findOneAndUpdate", "findOneAndReplace", "findOneAndDelete"]);
/** Methods whose first argument is a filter (and whose options may sort): their shapes are recorded. */
const FILTERED: ReadonlySet<PropertyKey> = new Set([
  "findOne", "updateOne", "updateMany", "replaceOne", "deleteOne", "deleteMany", "countDocuments",
  "findOneAndUpdate", "findOneAndReplace", "findOneAndDelete",
]);
const CURSOR_RUNS = ["toArray", "next", "hasNext", "tryNext", "forEach", Symbol.asyncIterator] as const;

/** Records the cursor's shape, with the sort given to it meanwhile, when it first runs. */
function recordCursor(cursor: FindCursor, record: (sort: unknown) => void, sort: unknown): FindCursor {
  let sortGiven = sort;
  let recorded = false;
  const c = cursor as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>;
  const sortFn = c.sort!.bind(cursor);
  c.sort = (...a: unknown[]) => {
    sortGiven = a[0];
    return sortFn(...a);
  };
  for (const m of CURSOR_RUNS) {
    const fn = c[m]!.bind(cursor);
    c[m] = (...a: unknown[]) => {
      if (!recorded) {
        recorded = true;
        record(sortGiven);
      }
      return fn(...a);
    };
  }
  return cursor;
}

type Doc = Record<string, unknown>;
const isDoc = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

/** The update with its revision step added (operator updates only; a pipeline is left alone). */
export function withRevision(update: unknown, step = 1 + randomInt(2 ** 30)): unknown {
  if (!isDoc(update) || !Object.keys(update).some((k) => k.startsWith("$"))) return update;
  const inc = isDoc(update.$inc) ? update.$inc : {};
  const set = isDoc(update.$set) ? update.$set : {};
  // Doubles: `_rev` grows by up to 2^30 a write, past int32 at once; a double counts exactly to 2^53.
  return { ...update, $inc: { ...inc, [REVISION_FIELD]: new Double(step) }, $set: { ...set, [REVISION_STEP_FIELD]: new Double(step) } };
}

function withoutRevision<T>(doc: T): T {
  if (!isDoc(doc) || !(REVISION_FIELD in doc || REVISION_STEP_FIELD in doc)) return doc;
  const { [REVISION_FIELD]: _rev, [REVISION_STEP_FIELD]: _step, ...rest } = doc;
  return rest as T;
}

function bulkWithRevision(ops: unknown): unknown {
  if (!Array.isArray(ops)) return ops;
  return ops.map((op: unknown) => {
    if (!isDoc(op)) return op;
    for (const kind of ["updateOne", "updateMany"] as const) {
      const spec = op[kind];
      if (isDoc(spec)) return { [kind]: { ...spec, update: withRevision(spec.update) } };
    }
    if (isDoc(op.replaceOne)) return { replaceOne: { ...op.replaceOne, replacement: withoutRevision(op.replaceOne.replacement) } };
    return op;
  });
}

/**
 * `db` whose collections retry their writes on write conflicts (`isWriteConflict`), version every
 * update (`REVISION_FIELD`) and hide the version from reads. A retried write is whole: the one
 * that failed was rolled back, so `$inc` and conditional filters keep their meaning. With it,
 * single-document conditional updates are atomic on FerretDB as on MongoDB.
 */
export function withConflictRetry(db: Db, options: ConflictRetryOptions = {}): Db {
  const wrap = <T extends Document>(col: Collection<T>): Collection<T> =>
    new Proxy(col, {
      get(target, prop, receiver) {
        if (prop === FERRETDB) return options.ferretdb === true;
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        const fn = value as (...a: unknown[]) => unknown;
        const onQuery = options.onQuery;
        const note = (args: unknown[], sort?: unknown) => onQuery?.(shapeOf(target.collectionName, String(prop), args[0], sort));
        const sortOption = (o: unknown) => (typeof o === "object" && o !== null ? (o as { sort?: unknown }).sort : undefined);
        if (prop === "find") {
          return (...args: unknown[]) => {
            const cursor = (fn.apply(target, args) as FindCursor).map(withoutRevision);
            return onQuery ? recordCursor(cursor, (sort) => note(args, sort), sortOption(args[1])) : cursor;
          };
        }
        const noteCall = (args: unknown[]) => {
          if (onQuery && FILTERED.has(prop)) note(args, sortOption(prop === "findOne" || prop === "countDocuments" ? args[1] : args[2]));
        };
        if (prop === "findOne") {
          return async (...args: unknown[]) => {
            noteCall(args);
            return withoutRevision(await fn.apply(target, args));
          };
        }
        if (prop === "countDocuments") {
          return (...args: unknown[]) => {
            noteCall(args);
            return fn.apply(target, args);
          };
        }
        if (!WRITES.has(prop)) return value;
        return async (...args: unknown[]) => {
          noteCall(args);
          const a = [...args];
          if (UPDATES.has(prop)) a[1] = withRevision(a[1]);
          else if (REPLACES.has(prop)) a[1] = withoutRevision(a[1]);
          else if (prop === "bulkWrite") a[0] = bulkWithRevision(a[0]);
          const result = await retryWriteConflicts(() => fn.apply(target, a) as Promise<unknown>, options);
          if (!DOC_RESULTS.has(prop)) return result;
          // `includeResultMetadata: true` answers `{ value, ok, ... }`
          return isDoc(result) && "lastErrorObject" in result ? { ...result, value: withoutRevision(result.value) } : withoutRevision(result);
        };
      },
    });
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== "collection" || typeof value !== "function") return value;
      return (...args: unknown[]) => wrap((value as (...a: unknown[]) => Collection).apply(target, args));
    },
  });
}
