import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { defineRpc } from "./define.ts";
import { Actor, ErrorBody, Id, JobUser } from "./envelope.ts";

// Contracts of the history service that other services use. Routes the gateway forwards to the
// history service add their own contracts here.

/** Dataset states (Galaxy's). */
export const DatasetState = Type.Union([
  Type.Literal("new"),
  Type.Literal("queued"),
  Type.Literal("running"),
  Type.Literal("ok"),
  Type.Literal("error"),
  Type.Literal("discarded"),
  Type.Literal("deferred"),
]);
export type DatasetState = Static<typeof DatasetState>;

/** What a transfer needs to know about one dataset it sends. */
export const SendableDataset = Type.Object({
  /** The history item id (the id `/contents` shows). */
  id: Id,
  hid: Type.Integer(),
  name: Type.String(),
  extension: Type.String(),
  state: DatasetState,
  deleted: Type.Boolean(),
  purged: Type.Boolean(),
  file_size: Type.Integer({ minimum: 0 }),
  hashes: Type.Object({ sha256: Type.String(), md5: Type.String() }),
  /** Where the bytes are in the dataset store (see @skyferry/dataset-store). */
  store_key: Type.String(),
});
export type SendableDataset = Static<typeof SendableDataset>;

/**
 * The datasets of one history for a send: 404 unless the actor owns the history. Without
 * `dataset_ids`, every dataset in state ok, not deleted or purged; with them, those items, and
 * `missing` lists ids that are not items of this history.
 *
 * Many replies (v2): the datasets come a page at a time, as the database yields them, so a send
 * queues its first jobs while the rest of a large history is still being read, and no history is
 * too large for one NATS message (v1 answered in one reply: ~3,400 datasets filled the default
 * 1 MiB). Every page names the history; each dataset is on exactly one page, and datasets are in
 * hid order within a page, not across pages (a requester that needs hid order sorts). `missing`
 * is complete on the last page and empty on the others.
 */
export const HistoryDatasetsForSend = defineRpc(
  "history.datasets.for-send",
  2,
  Type.Object(
    { actor: Actor, history_id: Id, dataset_ids: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000 })) },
    { additionalProperties: false },
  ),
  Type.Object({
    history: Type.Object({ id: Id, name: Type.String() }),
    datasets: Type.Array(SendableDataset),
    missing: Type.Array(Type.String()),
  }),
  { replies: "many" },
);

// ---------------------------------------------------------------------------------------------
// Histories and datasets as the gateway serves them (Galaxy's field names; reference §1.5, §6).
// Metadata travels over NATS; dataset bytes never do (uploads and display are streamed over the
// history service's own HTTP port, see services/history/README.md).

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ description: "ISO-8601 without zone, as Galaxy writes it" });

/** Galaxy's hash entry of a dataset (`hashes`). */
export const DatasetHash = Type.Object({
  model_class: Type.Literal("DatasetHash"),
  hash_function: Type.Union([Type.Literal("MD5"), Type.Literal("SHA-1"), Type.Literal("SHA-256"), Type.Literal("SHA-512")]),
  hash_value: Type.String(),
  extra_files_path: Nullable(Type.String()),
});
export type DatasetHash = Static<typeof DatasetHash>;

/** Every field a history can show; the summary view is a subset, `keys=` any subset. */
export const HistoryFields = {
  id: Id,
  model_class: Type.Literal("History"),
  name: Type.String(),
  deleted: Type.Boolean(),
  purged: Type.Boolean(),
  archived: Type.Boolean(),
  count: Type.Integer(),
  url: Type.String(),
  published: Type.Boolean(),
  annotation: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  update_time: Time,
  preferred_object_store_id: Nullable(Type.String()),
  contents_url: Type.String(),
  email_hash: Nullable(Type.String()),
  empty: Type.Boolean(),
  size: Type.Integer(),
  user_id: Id,
  create_time: Time,
  importable: Type.Boolean(),
  slug: Nullable(Type.String()),
  username: Nullable(Type.String()),
  username_and_slug: Nullable(Type.String()),
  genome_build: Nullable(Type.String()),
  state: Type.String(),
  state_details: Type.Record(Type.String(), Type.Integer()),
  state_ids: Type.Record(Type.String(), Type.Array(Id)),
  hid_counter: Type.Integer(),
};
/** A serialized history: the fields its view (or `keys=`) selected. */
export const HistoryObject = Type.Partial(Type.Object(HistoryFields));
export type HistoryObject = Static<typeof HistoryObject>;

/** Every field a history dataset association (HDA) can show. */
export const DatasetFields = {
  id: Id,
  type_id: Type.String(),
  name: Type.String(),
  history_id: Id,
  hid: Type.Integer(),
  history_content_type: Type.Literal("dataset"),
  dataset_id: Id,
  genome_build: Nullable(Type.String()),
  state: DatasetState,
  extension: Type.String(),
  deleted: Type.Boolean(),
  purged: Type.Boolean(),
  visible: Type.Boolean(),
  tags: Type.Array(Type.String()),
  type: Type.Literal("file"),
  url: Type.String(),
  create_time: Time,
  update_time: Time,
  object_store_id: Nullable(Type.String()),
  quota_source_label: Nullable(Type.String()),
  model_class: Type.Literal("HistoryDatasetAssociation"),
  hda_ldda: Type.Literal("hda"),
  accessible: Type.Boolean(),
  misc_info: Nullable(Type.String()),
  misc_blurb: Nullable(Type.String()),
  file_ext: Type.String(),
  file_size: Type.Integer({ minimum: 0 }),
  resubmitted: Type.Boolean(),
  metadata_dbkey: Nullable(Type.String()),
  meta_files: Type.Array(Type.Unknown()),
  data_type: Type.String(),
  peek: Nullable(Type.String()),
  creating_job: Nullable(Type.String()),
  rerunnable: Type.Boolean(),
  uuid: Type.String(),
  permissions: Type.Object({ manage: Type.Array(Type.String()), access: Type.Array(Type.String()) }),
  display_apps: Type.Array(Type.Unknown()),
  display_types: Type.Array(Type.Unknown()),
  validated_state: Type.String(),
  validated_state_message: Nullable(Type.String()),
  download_url: Type.String(),
  annotation: Nullable(Type.String()),
  api_type: Type.Literal("file"),
  created_from_basename: Nullable(Type.String()),
  hashes: Type.Array(DatasetHash),
  sources: Type.Array(Type.Object({ source_uri: Type.String(), transform: Nullable(Type.Array(Type.Unknown())), extra_files_path: Nullable(Type.String()), hashes: Type.Array(DatasetHash) })),
  drs_id: Type.String(),
};
/** A serialized dataset (HDA): the fields its view (or `keys=`) selected. */
export const DatasetObject = Type.Partial(Type.Object(DatasetFields));
export type DatasetObject = Static<typeof DatasetObject>;

/** `view=` and `keys=` of any serialized object; `keys` is the raw comma-separated list. */
export const ViewParams = {
  view: Type.Optional(Type.Union([Type.Literal("summary"), Type.Literal("detailed")])),
  keys: Type.Optional(Type.String({ maxLength: 2048 })),
};
const HistoryOrder = Type.Union(
  ["update_time-dsc", "update_time-asc", "create_time-dsc", "create_time-asc", "name-asc", "name-dsc"].map((o) => Type.Literal(o)),
);
/** The caller's email, for Galaxy's `email_hash`; never stored by the history service. */
const Email = Type.Optional(Type.String({ maxLength: 320 }));
const strict = { additionalProperties: false } as const;

/** The caller's histories (not deleted unless `deleted`), filtered by name and Galaxy's `q`/`qv` pairs. */
export const HistoryList = defineRpc(
  "history.histories.list",
  1,
  Type.Object(
    {
      actor: Actor,
      email: Email,
      ...ViewParams,
      deleted: Type.Optional(Type.Boolean()),
      /** Name contains (case-insensitive); Galaxy clients use `q=name-contains&qv=…`. */
      search: Type.Optional(Type.String({ maxLength: 255 })),
      q: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20 })),
      qv: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 20 })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
      offset: Type.Optional(Type.Integer({ minimum: 0 })),
      order: Type.Optional(HistoryOrder),
    },
    strict,
  ),
  Type.Array(HistoryObject),
);

export const HistoryGet = defineRpc("history.histories.get", 1, Type.Object({ actor: Actor, email: Email, history_id: Id, ...ViewParams }, strict), HistoryObject);

export const HistoryCreate = defineRpc(
  "history.histories.create",
  1,
  Type.Object({ actor: Actor, email: Email, name: Type.Optional(Type.String({ maxLength: 255 })), annotation: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))), ...ViewParams }, strict),
  HistoryObject,
);

/** Fields a client may change on a history (`deleted: false` undeletes). */
export const HistoryChanges = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    annotation: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 100 })),
    genome_build: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    deleted: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type HistoryChanges = Static<typeof HistoryChanges>;

export const HistoryUpdate = defineRpc(
  "history.histories.update",
  1,
  Type.Object({ actor: Actor, email: Email, history_id: Id, changes: HistoryChanges, ...ViewParams }, strict),
  HistoryObject,
);

/** Marks a history deleted; `purge` also purges its datasets (their bytes are removed). */
export const HistoryDelete = defineRpc(
  "history.histories.delete",
  1,
  Type.Object({ actor: Actor, email: Email, history_id: Id, purge: Type.Boolean(), ...ViewParams }, strict),
  HistoryObject,
);

/** A history's contents in hid order; `details` ("all" or ids) and `ids` select the detailed view. */
export const HistoryContentsList = defineRpc(
  "history.contents.list",
  1,
  Type.Object(
    {
      actor: Actor,
      history_id: Id,
      ...ViewParams,
      details: Type.Optional(Type.String({ maxLength: 20_000 })),
      ids: Type.Optional(Type.String({ maxLength: 20_000 })),
      deleted: Type.Optional(Type.Boolean()),
      visible: Type.Optional(Type.Boolean()),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
      offset: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    strict,
  ),
  Type.Array(DatasetObject),
);

/** One dataset (detailed view by default); with `history_id`, it must be an item of that history. */
export const DatasetGet = defineRpc(
  "history.datasets.get",
  1,
  Type.Object({ actor: Actor, dataset_id: Id, history_id: Type.Optional(Id), ...ViewParams }, strict),
  DatasetObject,
);

/** Fields a client may change on a dataset: rename, change datatype, hide, undelete. */
export const DatasetChanges = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    /** The datatype (Galaxy's PUT field); `extension` and `file_ext` are accepted as aliases. */
    datatype: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    extension: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    file_ext: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    visible: Type.Optional(Type.Boolean()),
    deleted: Type.Optional(Type.Boolean()),
    annotation: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { maxItems: 100 })),
    genome_build: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
    misc_info: Type.Optional(Nullable(Type.String({ maxLength: 4096 }))),
  },
  strict,
);
export type DatasetChanges = Static<typeof DatasetChanges>;

export const DatasetUpdate = defineRpc(
  "history.datasets.update",
  1,
  Type.Object({ actor: Actor, dataset_id: Id, changes: DatasetChanges, ...ViewParams }, strict),
  DatasetObject,
);

/** Marks a dataset deleted; `purge` also removes its bytes from the dataset store. */
export const DatasetDelete = defineRpc(
  "history.datasets.delete",
  1,
  Type.Object({ actor: Actor, dataset_id: Id, purge: Type.Boolean() }, strict),
  Type.Object({ id: Id, deleted: Type.Boolean(), purged: Type.Boolean() }),
);

// ---------------------------------------------------------------------------------------------
// Imports (issue 6, get from cloud): the transfer service creates queued history items, then
// reports how each ended. The bytes go straight into the dataset store under `store_key`.

/** One item to create: named as the object key; `file_type` forces the datatype (else sniffed later). */
export const ImportItemSpec = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 1024 }),
    file_type: Type.Optional(Type.String({ maxLength: 32 })),
    dbkey: Type.Optional(Type.String({ maxLength: 64 })),
    source_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  strict,
);
export type ImportItemSpec = Static<typeof ImportItemSpec>;

/** Creates queued items (404 unless the actor owns the history), in order, each with its dataset-store key. */
export const HistoryImportCreate = defineRpc(
  "history.imports.create",
  1,
  Type.Object({ actor: Actor, history_id: Id, items: Type.Array(ImportItemSpec, { minItems: 1, maxItems: 10_000 }) }, strict),
  Type.Object({ items: Type.Array(Type.Object({ item: DatasetObject, store_key: Type.String() })) }),
);

// The import subjects below (start, finish, finish-batch, fail) are requested by the transfer
// identity alone (NATS permissions) for a job it loaded from MongoDB; `actor` names the job's user
// (no assertion: a job outlives it), and history answers 404 unless the item is that user's and
// was created as an import.

/** queued (or error, on a retry) -> running. */
export const HistoryImportStart = defineRpc(
  "history.imports.start",
  1,
  Type.Object({ actor: JobUser, item_id: Id }, strict),
  DatasetObject,
);

/** One finished import: the bytes are stored under `store_key`, with this size, digests and datatype. */
export const ImportFinish = Type.Object(
  {
    actor: JobUser,
    item_id: Id,
    store_key: Type.String({ maxLength: 512 }),
    size: Type.Integer({ minimum: 0 }),
    sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }),
    md5: Type.String({ pattern: "^[0-9a-f]{32}$" }),
    ext: Type.String({ minLength: 1, maxLength: 32 }),
    peek: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  strict,
);
export type ImportFinish = Static<typeof ImportFinish>;

/** The bytes are stored under `store_key`: -> ok with their size, digests and datatype (again ok, when finished twice). */
export const HistoryImportFinish = defineRpc("history.imports.finish", 1, ImportFinish, DatasetObject);

/**
 * Many finishes at once (a transfer worker coalesces those of its concurrent jobs): each item ends
 * as `history.imports.finish` would end it, and answers on its own, in request order: the item's
 * new state, or the error that one finish would have thrown.
 */
export const HistoryImportFinishBatch = defineRpc(
  "history.imports.finish-batch",
  1,
  Type.Object({ items: Type.Array(ImportFinish, { minItems: 1, maxItems: 256 }) }, strict),
  Type.Object({ results: Type.Array(Type.Object({ item_id: Id, state: Type.Optional(DatasetState), error: Type.Optional(ErrorBody) })) }),
);

/** -> error with the reason (`misc_info`); `deleted` marks a cancelled import. */
export const HistoryImportFail = defineRpc(
  "history.imports.fail",
  1,
  Type.Object({ actor: JobUser, item_id: Id, reason: Type.String({ maxLength: 2048 }), deleted: Type.Optional(Type.Boolean()) }, strict),
  DatasetObject,
);

/**
 * Whether each dataset a send job is about to read belongs to a history of the job's user (and
 * the job's `store_key` is that dataset's): a transfer worker asks before it reads any byte, for
 * many jobs at once. Requested by the transfer identity only (NATS permissions). `owned[i]`
 * answers `items[i]`.
 */
export const HistoryDatasetsOwned = defineRpc(
  "history.datasets.owned",
  1,
  Type.Object(
    { items: Type.Array(Type.Object({ user_id: Id, history_id: Id, dataset_id: Id, store_key: Type.String({ maxLength: 512 }) }, strict), { minItems: 1, maxItems: 256 }) },
    strict,
  ),
  Type.Object({ owned: Type.Array(Type.Boolean()) }),
);
