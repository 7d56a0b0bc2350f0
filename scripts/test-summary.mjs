#!/usr/bin/env node
// Adds up the TAP summaries that run-tests.mjs left in .test-results/ and prints one closing line.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const dir = resolve(import.meta.dirname, "..", ".test-results");
const total = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
if (existsSync(dir)) {
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".tap")).sort()) {
    const text = readFileSync(join(dir, f), "utf8");
    const counts = {};
    for (const key of Object.keys(total)) {
      const m = text.match(new RegExp(`^# ${key} (\\d+)$`, "m"));
      counts[key] = m ? Number(m[1]) : 0;
      total[key] += counts[key];
    }
    console.log(`  ${f.replace(/\.tap$/, "").padEnd(16)} ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped`);
  }
}
const failed = total.fail + total.cancelled;
console.log(`tests: ${total.pass} passed, ${failed} failed, ${total.skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
