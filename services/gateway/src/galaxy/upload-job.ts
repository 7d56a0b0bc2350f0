import { Type } from "@sinclair/typebox";
import { DatasetObject } from "@skyferry/contracts";

/**
 * An upload seen as Galaxy's job: the tool and fetch APIs answer `jobs`, and clients then poll
 * `GET /api/jobs/{id}`. Each upload makes one dataset, and its job has the dataset's id.
 */
export const UploadJob = Type.Object({
  model_class: Type.Literal("Job"),
  id: Type.String(),
  tool_id: Type.String(),
  state: Type.String(),
  history_id: Type.String(),
  create_time: Type.String(),
  update_time: Type.String(),
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  inputs: Type.Object({}),
  outputs: Type.Record(Type.String(), Type.Object({ id: Type.String(), src: Type.Literal("hda"), uuid: Type.Union([Type.String(), Type.Null()]) })),
  params: Type.Object({}),
});

const JOB_STATE: Record<string, string> = { ok: "ok", error: "error", failed_metadata: "error", queued: "queued", new: "new", upload: "running", running: "running", setting_metadata: "running", paused: "paused", deferred: "ok", discarded: "deleted" };

type Dataset = DatasetObject & { create_time?: string | null; update_time?: string | null; uuid?: string | null };

export function uploadJobOf(d: Dataset, toolId: string): typeof UploadJob.static {
  const state = JOB_STATE[d.state ?? ""] ?? "new";
  const id = d.id ?? "";
  const created = d.create_time ?? new Date(0).toISOString();
  return {
    model_class: "Job",
    id,
    tool_id: toolId,
    state,
    history_id: d.history_id ?? "",
    create_time: created,
    update_time: d.update_time ?? created,
    exit_code: state === "ok" ? 0 : state === "error" ? 1 : null,
    inputs: {},
    outputs: { output0: { id, src: "hda", uuid: d.uuid ?? null } },
    params: {},
  };
}

/** Galaxy's answer to `POST /api/tools` and `POST /api/tools/fetch`. */
export function toolAnswer(outputs: Dataset[], toolId: string) {
  return {
    outputs: outputs.map((d, i) => ({ ...d, output_name: `output${i}` })),
    output_collections: [],
    jobs: outputs.map((d) => uploadJobOf(d, toolId)),
    implicit_collections: [],
    produces_entry_points: false,
  };
}

/** The schema of `toolAnswer`'s result. */
export const ToolAnswer = Type.Object({
  outputs: Type.Array(Type.Composite([DatasetObject, Type.Object({ output_name: Type.String() })])),
  output_collections: Type.Array(Type.Unknown(), { maxItems: 0 }),
  jobs: Type.Array(UploadJob),
  implicit_collections: Type.Array(Type.Unknown(), { maxItems: 0 }),
  produces_entry_points: Type.Boolean(),
});
