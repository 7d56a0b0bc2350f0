#!/usr/bin/env node
// Adds up the TAP summaries that run-tests.mjs left in .test-results/ and prints one closing line,
// after naming each failed test with its file and the first lines of its error: CI keeps only the
// end of a run's output, and a count alone does not say which test to look at.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const dir = resolve(import.meta.dirname, "..", ".test-results");
const repo = resolve(import.meta.dirname, "..");

/** The failed tests of a TAP report: leaves only (a parent that failed because a subtest did is not named again). */
export function failures(text) {
  const lines = text.split("\n");
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^(\s*)not ok \d+ - (.*)$/);
    if (!m) continue;
    const indent = m[1].length + 2;
    const yaml = [];
    for (let j = i + 1; j < lines.length && (lines[j].trim() === "" || lines[j].length - lines[j].trimStart().length >= indent); j++) {
      if (lines[j].trim() === "...") break;
      yaml.push(lines[j].slice(indent));
    }
    const field = (key) => {
      const k = yaml.findIndex((l) => l.startsWith(`${key}: `));
      if (k < 0) return undefined;
      const first = yaml[k].slice(key.length + 2);
      if (first !== "|-" && first !== "|") return first.replace(/^'(.*)'$/, "$1");
      const block = [];
      for (let n = k + 1; n < yaml.length && yaml[n].startsWith("  "); n++) block.push(yaml[n].slice(2));
      return block.join("\n");
    };
    if (field("failureType") === "subtestsFailed") continue;
    out.push({ name: m[2], location: field("location"), error: field("error") ?? field("failureType") ?? "" });
  }
  return out;
}

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
    for (const x of failures(text)) {
      const where = x.location ? ` (${relative(repo, x.location.replace(/^file:\/\//, ""))})` : "";
      const error = x.error.split("\n").slice(0, 4).join(" / ").slice(0, 400);
      console.log(`    FAILED ${x.name}${where}: ${error}`);
    }
  }
}
const failed = total.fail + total.cancelled;
console.log(`tests: ${total.pass} passed, ${failed} failed, ${total.skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
