#!/usr/bin/env node
// Runs one workspace's tests with node:test through tsx. Finds *.test.ts below the workspace
// (Node 20's `--test` does not expand globs), prints the spec report, and writes a TAP copy to
// <repo>/.test-results/<workspace>.tap for the summary that scripts/test.sh prints at the end.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const cwd = process.cwd();
const repo = resolve(import.meta.dirname, "..");
const name = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8")).name.replace(/^@skyferry\//, "");
const filter = process.env.SKYFERRY_TEST_FILTER; // substring of a file path, for focused runs

function find(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".") || entry.name === "bench") continue;
    const p = join(dir, entry.name);
    // A folder with its own package.json is another workspace (e.g. test/shipped): turbo runs it.
    if (entry.isDirectory()) {
      if (!existsSync(join(p, "package.json"))) find(p, out);
    }
    else if (entry.name.endsWith(".test.ts")) out.push(relative(cwd, p));
  }
  return out;
}

const files = find(cwd).filter((f) => !filter || f.includes(filter)).sort();
if (files.length === 0) {
  console.log(`${name}: no test files`);
  process.exit(0);
}
const results = join(repo, ".test-results");
mkdirSync(results, { recursive: true });
const args = [
  "--import", "tsx",
  "--test",
  `--test-concurrency=${process.env.SKYFERRY_TEST_CONCURRENCY ?? "2"}`,
  "--test-reporter=spec", "--test-reporter-destination=stdout",
  "--test-reporter=tap", `--test-reporter-destination=${join(results, `${name}.tap`)}`,
  ...files,
];
// Every service a test starts records the shape of each MongoDB query here; test/indexes checks
// after all the others that each one is served by an index its service declares.
const env = { ...process.env, SKYFERRY_DB_QUERY_SHAPES: process.env.SKYFERRY_DB_QUERY_SHAPES ?? join(results, "query-shapes.jsonl") };
const child = spawn(process.execPath, args, { stdio: "inherit", env });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
