import { appendFileSync } from "node:fs";
import type { IndexDescription } from "mongodb";

/**
 * What a query asks of a collection, without its values: which fields it filters on by equality
 * (or `$in`, which an index serves as several equalities), which by anything else (ranges, `$ne`,
 * `$exists`), and how it sorts. The services' queries, recorded while the tests run
 * (`SKYFERRY_DB_QUERY_SHAPES`), are checked against the indexes they declare (`servedBy`).
 */
export interface QueryShape {
  collection: string;
  /** The collection method (find, findOne, updateOne, ...). */
  op: string;
  equality: string[];
  other: string[];
  sort: Array<[string, 1 | -1]>;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** The shape of `filter` (top level; `$and` merged; `$or` branches count as other) with `sort`. */
export function shapeOf(collection: string, op: string, filter: unknown, sort?: unknown): QueryShape {
  const equality = new Set<string>();
  const other = new Set<string>();
  const visit = (f: unknown) => {
    if (!isPlain(f)) return;
    for (const [k, v] of Object.entries(f)) {
      if (k === "$and" && Array.isArray(v)) v.forEach(visit);
      else if (k.startsWith("$")) other.add(k);
      else if (isPlain(v) && Object.keys(v).some((o) => o.startsWith("$"))) {
        const ops = Object.keys(v);
        if (ops.every((o) => o === "$eq" || o === "$in")) equality.add(k);
        else other.add(k);
      } else equality.add(k);
    }
  };
  visit(filter);
  for (const k of equality) other.delete(k);
  return { collection, op, equality: [...equality].sort(), other: [...other].sort(), sort: sortKeys(sort) };
}

function sortKeys(sort: unknown): Array<[string, 1 | -1]> {
  if (!sort) return [];
  const entries: Array<[string, unknown]> = Array.isArray(sort)
    ? (sort as unknown[]).map((s) => (Array.isArray(s) ? [String(s[0]), s[1]] : [String(s), 1]))
    : isPlain(sort) ? Object.entries(sort) : typeof sort === "string" ? [[sort, 1]] : [];
  return entries.map(([k, d]) => [k, d === -1 || d === "desc" || d === "descending" ? -1 : 1]);
}

/**
 * The index of `indexes` that serves `shape`, or `"_id"`, or null: an equality on `_id` is served
 * by the `_id` index; otherwise an index whose leading keys are equality fields of the filter (at
 * least one, or none when the query only sorts), followed by the sort's fields in its order (all
 * in the index's directions, or all reversed).
 */
export function servedBy(shape: QueryShape, indexes: readonly IndexDescription[]): string | null {
  if (shape.equality.includes("_id")) return "_id";
  const eq = new Set(shape.equality);
  let best: { name: string; leading: number } | null = null;
  for (const index of indexes) {
    const name = String(index.name ?? JSON.stringify(index.key));
    const keys = Object.entries(index.key as Record<string, number>);
    let i = 0;
    while (i < keys.length && eq.has(keys[i]![0])) i++;
    let serves: boolean;
    if (shape.sort.length === 0) {
      // Led by equality fields; or, for a query on ranges alone (`{expires_at: {$lt: now}}`), by one of them.
      serves = i > 0 || (eq.size === 0 && keys.length > 0 && shape.other.includes(keys[0]![0]));
    } else {
      const rest = keys.slice(i, i + shape.sort.length);
      const same = rest.length === shape.sort.length && shape.sort.every(([f, d], j) => rest[j]![0] === f && rest[j]![1] === d);
      const reversed = rest.length === shape.sort.length && shape.sort.every(([f, d], j) => rest[j]![0] === f && rest[j]![1] === -d);
      serves = (same || reversed) && (i > 0 || eq.size === 0);
    }
    // The index that leads with the most of the query's equality fields.
    if (serves && (!best || i > best.leading)) best = { name, leading: i };
  }
  if (best) return best.name;
  // A tie-break on `_id` after an indexed sort: served once the sort before it is.
  const last = shape.sort.at(-1);
  if (last && last[0] === "_id" && shape.sort.length > 1) return servedBy({ ...shape, sort: shape.sort.slice(0, -1) }, indexes);
  return null;
}

/** Appends each new shape seen in this process to `file`, one JSON line each. */
export function shapeRecorder(file: string, dbName: string): (shape: QueryShape) => void {
  const seen = new Set<string>();
  return (shape) => {
    const line = JSON.stringify({ db: dbName, ...shape });
    if (seen.has(line)) return;
    seen.add(line);
    appendFileSync(file, `${line}\n`);
  };
}
