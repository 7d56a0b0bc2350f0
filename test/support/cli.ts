// Runs the `skyferry` command line as a user would: the built executable (packages/cli/bin),
// in its own process, with its own HOME (so its config.toml is the test's) and an environment
// that carries nothing of the test's (no SKYFERRY_URL / SKYFERRY_API_KEY unless given).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import type { TSchema } from "@sinclair/typebox";
import { repoRoot } from "./send.ts";

export const cliBin = join(repoRoot, "packages/cli/bin/skyferry.mjs");

/** Builds packages/cli/dist (esbuild, about a second): the tests run what `npx skyferry` runs. */
export function buildCli(): void {
  execFileSync(process.execPath, [join(repoRoot, "packages/cli/scripts/build.mjs")], { stdio: "inherit" });
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliHome {
  dir: string;
  run(args: string[], opts?: { env?: Record<string, string>; input?: string }): Promise<CliRun>;
  close(): void;
}

/** A user's home for the CLI: its own HOME, no colours (not a terminal anyway). */
export function cliHome(): CliHome {
  const dir = mkdtempSync(join(tmpdir(), "skyferry-cli-home-"));
  return {
    dir,
    run(args, opts = {}) {
      const env = { PATH: process.env.PATH ?? "", HOME: dir, ...opts.env };
      const child = spawn(process.execPath, [cliBin, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      child.stdin.end(opts.input ?? "");
      return new Promise((resolve, reject) => {
        child.once("error", reject);
        child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      });
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const ajv = addFormats.default(new Ajv({ allErrors: true, strict: false }));
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Parses one JSON document and validates it against `schema` (ajv); throws with ajv's errors. */
export function parseAs<T>(schema: TSchema, text: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${what}: not one JSON document:\n${text.slice(0, 2000)}`);
  }
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  if (!validate(value)) throw new Error(`${what}: does not match its schema: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 2000)}`);
  return value as T;
}
