import { createHash } from "node:crypto";
import type { HistoryObject } from "@skyferry/contracts";
import { galaxyTime } from "../ids.ts";
import type { HistoryDoc } from "./repository.ts";

/** Galaxy's history summary view (newest Galaxy), then what the detailed view adds. */
export const HISTORY_SUMMARY_KEYS = [
  "id", "model_class", "name", "deleted", "purged", "archived", "count", "url", "published", "annotation", "tags", "update_time",
  "preferred_object_store_id",
] as const;
export const HISTORY_DETAILED_KEYS = [
  ...HISTORY_SUMMARY_KEYS,
  "contents_url", "email_hash", "empty", "size", "user_id", "create_time", "importable", "slug", "username", "username_and_slug",
  "genome_build", "state", "state_details", "state_ids", "hid_counter",
] as const;
export const HISTORY_VIEWS = { summary: HISTORY_SUMMARY_KEYS, detailed: HISTORY_DETAILED_KEYS };

/** Galaxy's dataset states, each counted in `state_details` / listed in `state_ids`. */
const STATES = ["new", "upload", "queued", "running", "ok", "empty", "error", "paused", "setting_metadata", "failed_metadata", "deferred", "discarded"];

/** The datasets of one history as the history's view needs them. */
export interface HistoryStats {
  items: Array<{ _id: string; hid: number; state: string; deleted: boolean; purged: boolean; file_size: number }>;
}

export function serializeHistory(doc: HistoryDoc, stats: HistoryStats, email: string | undefined): Required<HistoryObject> {
  const active = stats.items.filter((d) => !d.deleted);
  const stateDetails = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<string, number>;
  const stateIds = Object.fromEntries(STATES.map((s) => [s, [] as string[]])) as Record<string, string[]>;
  for (const d of [...active].sort((a, b) => a.hid - b.hid)) {
    stateDetails[d.state] = (stateDetails[d.state] ?? 0) + 1;
    (stateIds[d.state] ??= []).push(d._id);
  }
  const maxHid = stats.items.reduce((m, d) => Math.max(m, d.hid), 0);
  return {
    id: doc._id,
    model_class: "History",
    name: doc.name,
    deleted: doc.deleted,
    purged: doc.purged,
    archived: false,
    count: stats.items.length,
    url: `/api/histories/${doc._id}`,
    published: doc.published,
    annotation: doc.annotation,
    tags: doc.tags,
    update_time: galaxyTime(doc.update_time),
    preferred_object_store_id: null,
    contents_url: `/api/histories/${doc._id}/contents`,
    email_hash: email ? createHash("md5").update(email.trim().toLowerCase()).digest("hex") : null,
    empty: stats.items.length === 0,
    size: stats.items.filter((d) => !d.purged).reduce((s, d) => s + d.file_size, 0),
    user_id: doc.user_id,
    create_time: galaxyTime(doc.create_time),
    importable: doc.importable,
    slug: doc.slug,
    // skyferry has no public user names.
    username: null,
    username_and_slug: null,
    genome_build: doc.genome_build,
    state: historyState(stateDetails, active.length),
    state_details: stateDetails,
    state_ids: stateIds,
    hid_counter: maxHid + 1,
  };
}

/** Galaxy's aggregate: running beats queued beats error; an empty history is `new`. */
function historyState(counts: Record<string, number>, total: number): string {
  if (total === 0) return "new";
  if ((counts.running ?? 0) + (counts.upload ?? 0) + (counts.setting_metadata ?? 0) > 0) return "running";
  if ((counts.queued ?? 0) + (counts.new ?? 0) > 0) return "queued";
  if ((counts.error ?? 0) + (counts.failed_metadata ?? 0) > 0) return "error";
  return "ok";
}
