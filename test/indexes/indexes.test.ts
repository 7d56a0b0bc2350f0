// Runs after the other workspaces' tests (turbo.json): each MongoDB query the services made while
// those tests ran (recorded through SKYFERRY_DB_QUERY_SHAPES, see scripts/run-tests.mjs) must be
// served by an index its service declares -- on MongoDB, a query without one scans the collection.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AUTHZ_INDEXES } from "@skyferry/authz/db";
import { type QueryShape, servedBy } from "@skyferry/db";
import { HISTORY_SERVICE_INDEXES } from "@skyferry/history/db";
import { JOB_INDEXES, LEASE_INDEXES } from "@skyferry/transfer/db";

const file = process.env.SKYFERRY_DB_QUERY_SHAPES ?? join(import.meta.dirname, "../../.test-results/query-shapes.jsonl");
const declared: Record<string, Parameters<typeof servedBy>[1]> = { ...AUTHZ_INDEXES, ...HISTORY_SERVICE_INDEXES, ...JOB_INDEXES, ...LEASE_INDEXES };

test("every query the services made during the tests is served by an index they declare", () => {
  assert.ok(existsSync(file), `no recorded queries at ${file}: this check runs after the other tests (npm test)`);
  const shapes = new Map<string, QueryShape>();
  for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
    const { db: _db, ...shape } = JSON.parse(line) as QueryShape & { db: string };
    shapes.set(JSON.stringify(shape), shape);
  }
  const collections = new Set([...shapes.values()].map((s) => s.collection));
  console.log(`${shapes.size} distinct query shapes over ${collections.size} collections: ${[...collections].sort().join(", ")}`);
  assert.ok(shapes.size >= 20, `only ${shapes.size} query shapes were recorded: the services' tests did not run`);
  const unserved = [...shapes.values()].filter((s) => servedBy(s, declared[s.collection] ?? []) === null);
  const describe = (s: QueryShape) =>
    `${s.collection}.${s.op}(equality: [${s.equality.join(", ")}], other: [${s.other.join(", ")}], sort: [${s.sort.map(([f, d]) => `${f} ${d}`).join(", ")}])`;
  assert.deepEqual(unserved.map(describe), [], "queries no declared index serves");
});
