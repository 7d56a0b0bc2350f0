import { type Static, Type } from "@sinclair/typebox";
import { defineRpc } from "./define.ts";
import { Actor, Id } from "./envelope.ts";

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
 * `dataset_ids`, every dataset in state ok, not deleted or purged, in hid order; with them,
 * those items, and `missing` lists ids that are not items of this history.
 */
export const HistoryDatasetsForSend = defineRpc(
  "history.datasets.for-send",
  1,
  Type.Object(
    { actor: Actor, history_id: Id, dataset_ids: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000 })) },
    { additionalProperties: false },
  ),
  Type.Object({
    history: Type.Object({ id: Id, name: Type.String() }),
    datasets: Type.Array(SendableDataset),
    missing: Type.Array(Type.String()),
  }),
);
