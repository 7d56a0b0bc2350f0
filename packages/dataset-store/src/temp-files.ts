import { randomBytes } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Logger } from "@skyferry/logger";

/** This host, as it appears in temporary file names. */
export const TEMP_HOST = hostname().replace(/[^A-Za-z0-9-]/g, "").slice(0, 32) || "host";

/**
 * The temporary file name of a write of `name` (the key's last segment):
 * `.tmp-<name>.<host>.<pid>.<random>`, so that a later write of the same key can tell a leftover of
 * a writer that died (killed mid-write: nothing removes its file) from a writer still at work.
 */
export function tempName(name: string): string {
  return `.tmp-${name}.${TEMP_HOST}.${process.pid}.${randomBytes(6).toString("hex")}`;
}

/**
 * Removes the temporary files of earlier writes of `name` in `dir` whose process, on this host, is
 * gone. Files of live processes, of this process and of other hosts stay. Best effort: never throws.
 */
export async function removeDeadTemps(dir: string, name: string, logger?: Logger): Promise<void> {
  const prefix = `.tmp-${name}.${TEMP_HOST}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = n.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{12}$/.exec(n.slice(prefix.length)) : null;
    const pid = m ? Number(m[1]) : 0;
    if (!pid || pid === process.pid || alive(pid)) continue;
    await rm(join(dir, n), { force: true }).catch((err: unknown) => logger?.warn({ err, path: join(dir, n) }, "could not remove a dead write's temporary file"));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}
