import type { DatasetHash, DatasetObject } from "@skyferry/contracts";
import { galaxyTime } from "../ids.ts";
import { dataTypeClass } from "./datatype-info.ts";
import type { DatasetDoc } from "./repository.ts";

/** Galaxy's HDA summary view (history contents), then what the detailed view adds. */
export const DATASET_SUMMARY_KEYS = [
  "id", "type_id", "name", "history_id", "hid", "history_content_type", "dataset_id", "genome_build", "state", "extension", "deleted",
  "purged", "visible", "tags", "type", "url", "create_time", "update_time", "object_store_id", "quota_source_label",
] as const;
export const DATASET_DETAILED_KEYS = [
  ...DATASET_SUMMARY_KEYS,
  "model_class", "hda_ldda", "accessible", "misc_info", "misc_blurb", "file_ext", "file_size", "resubmitted", "metadata_dbkey", "meta_files",
  "data_type", "peek", "creating_job", "rerunnable", "uuid", "permissions", "display_apps", "display_types", "validated_state",
  "validated_state_message", "download_url", "annotation", "api_type", "created_from_basename", "hashes", "sources", "drs_id",
] as const;
export const DATASET_VIEWS = { summary: DATASET_SUMMARY_KEYS, detailed: DATASET_DETAILED_KEYS };

/** Galaxy's `hashes` list from the digests the dataset store computed while writing. */
export function galaxyHashes(doc: Pick<DatasetDoc, "sha256" | "md5">): DatasetHash[] {
  const out: DatasetHash[] = [];
  if (doc.md5) out.push({ model_class: "DatasetHash", hash_function: "MD5", hash_value: doc.md5, extra_files_path: null });
  if (doc.sha256) out.push({ model_class: "DatasetHash", hash_function: "SHA-256", hash_value: doc.sha256, extra_files_path: null });
  return out;
}

export function serializeDataset(d: DatasetDoc): Required<DatasetObject> {
  const hashes = galaxyHashes(d);
  return {
    id: d._id,
    type_id: `dataset-${d._id}`,
    name: d.name,
    history_id: d.history_id,
    hid: d.hid,
    history_content_type: "dataset",
    dataset_id: d.dataset_id,
    genome_build: d.genome_build ?? "?",
    state: d.state,
    extension: d.extension,
    deleted: d.deleted,
    purged: d.purged,
    visible: d.visible,
    tags: d.tags,
    type: "file",
    url: `/api/histories/${d.history_id}/contents/${d._id}`,
    create_time: galaxyTime(d.create_time),
    update_time: galaxyTime(d.update_time),
    object_store_id: null,
    quota_source_label: null,
    model_class: "HistoryDatasetAssociation",
    hda_ldda: "hda",
    accessible: true,
    misc_info: d.misc_info,
    misc_blurb: d.misc_blurb,
    file_ext: d.extension,
    file_size: d.file_size,
    resubmitted: false,
    metadata_dbkey: d.genome_build ?? "?",
    meta_files: [],
    data_type: dataTypeClass(d.extension),
    peek: d.peek,
    creating_job: null,
    rerunnable: false,
    uuid: d.uuid,
    permissions: { manage: [], access: [] },
    display_apps: [],
    display_types: [],
    validated_state: "unknown",
    validated_state_message: null,
    // Galaxy's form: clients append their own `?to_ext=`.
    download_url: `/api/histories/${d.history_id}/contents/${d._id}/display`,
    annotation: d.annotation,
    api_type: "file",
    created_from_basename: d.created_from_basename,
    hashes,
    sources: d.source_uri ? [{ source_uri: d.source_uri, transform: null, extra_files_path: null, hashes: [] }] : [],
    drs_id: `hda-${d._id}`,
  };
}
