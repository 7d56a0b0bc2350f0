import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The stack's radosgw (from the environment, else `.stack/env`); throws loudly when absent. */
export function stackS3(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  const file = resolve(process.env.SKYFERRY_STACK_DIR ?? resolve(import.meta.dirname, "../../../.stack"), "env");
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = /^(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m) fromFile[m[1]!] = m[2]!.replace(/^['"]|['"]$/g, "");
    }
  }
  const env = { ...fromFile, ...process.env };
  const need = (n: string) => {
    const v = env[n];
    if (!v) throw new Error(`${n} is not set: start the stack ('bash scripts/stack.sh up') before the s3 dataset store tests.`);
    return v;
  };
  return {
    endpoint: need("S3_ENDPOINT"),
    region: env.S3_REGION ?? "us-east-1",
    credentials: { accessKeyId: need("S3_ACCESS_KEY_ID"), secretAccessKey: need("S3_SECRET_ACCESS_KEY") },
  };
}
