import { allDatasets, type CloudAuthz, collect, type Dataset, type History, ok, type Skyferry } from "@skyferry/client/node";
import { CliError, EXIT } from "./errors.ts";

const ID = /^[0-9a-f]{16}$/;
const DATASET_KEYS = "id,hid,name,state,deleted,file_size,extension,update_time";

function one<T>(what: string, given: string, matches: T[], name: (t: T) => string): T {
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError("CLI_NOT_FOUND", `no ${what} "${given}"`, EXIT.failed);
  throw new CliError("CLI_AMBIGUOUS", `${matches.length} ${what}s are named "${given}" (${matches.map(name).join(", ")}): give the id`, EXIT.usage);
}

/** A history by id, or by its exact name when that is unique among the caller's histories. */
export async function resolveHistory(sky: Skyferry, given: string): Promise<History & { id: string }> {
  if (ID.test(given)) return ok(await sky.api.GET("/api/histories/{id}", { params: { path: { id: given } } })) as History & { id: string };
  const all = ok(await sky.api.GET("/api/histories", {})) as Array<History & { id: string }>;
  return one("history", given, all.filter((h) => h.name === given), (h) => h.id);
}

/** A cloud authorization by id, or by its description when that is unique. */
export async function resolveAuthz(sky: Skyferry, given: string): Promise<CloudAuthz> {
  if (ID.test(given)) return ok(await sky.api.GET("/api/cloud/authz/{id}", { params: { path: { id: given } } }));
  const all = ok(await sky.api.GET("/api/cloud/authz", {}));
  return one("cloud authorization", given, all.filter((a) => a.description === given), (a) => a.id);
}

/** The datasets of a history, in hid order (not deleted). */
export async function historyDatasets(sky: Skyferry, historyId: string): Promise<Dataset[]> {
  return collect(allDatasets(sky, historyId, { keys: DATASET_KEYS, deleted: false }));
}

/** Datasets named by id, hid (`3` or `#3`) or unique name. */
export function pickDatasets(all: Dataset[], given: string[]): Dataset[] {
  return given.map((g) => {
    const hid = /^#?(\d+)$/.exec(g)?.[1];
    const matches = ID.test(g) ? all.filter((d) => d.id === g) : hid !== undefined ? all.filter((d) => d.hid === Number(hid)) : all.filter((d) => d.name === g);
    return one("dataset", g, matches, (d) => `#${d.hid} ${d.id}`);
  });
}
