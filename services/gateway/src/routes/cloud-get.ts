import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { DatasetObject, GetOptions, type RpcResponse, TransferGetPlan } from "@skyferry/contracts";
import { invalidField } from "@skyferry/errors";
import type { FastifyInstance } from "fastify";
import { actorOf } from "../plugins/auth.ts";

const GetBody = Type.Object(GetOptions, { additionalProperties: false });
/** One item of Galaxy's get answer: a new history item, or (state `error`, reason in `misc_info`) an object that could not be fetched. */
const GetItem = Type.Union([
  Type.Composite([DatasetObject, Type.Object({ job_id: Type.String(), object: Type.String() })]),
  Type.Object({
    id: Type.Null(),
    job_id: Type.Null(),
    object: Type.String(),
    name: Type.String(),
    state: Type.Literal("error"),
    misc_info: Type.String(),
    history_content_type: Type.Literal("dataset"),
    deleted: Type.Boolean(),
    visible: Type.Boolean(),
  }),
]);

/** Galaxy answered get with a JSON array of the new items, in request order (objects in key order for a prefix). */
function galaxyGetAnswer(plan: RpcResponse<typeof TransferGetPlan>, objects: string[] | undefined): unknown[] {
  const failed = plan.failed.map((f) => ({
    id: null, job_id: null, object: f.object, name: f.object.split("/").pop() || f.object, state: "error" as const,
    misc_info: f.error, history_content_type: "dataset" as const, deleted: false, visible: true,
  }));
  const all: Array<{ object: string }> = [...plan.items, ...failed];
  const rank = new Map((objects ?? [...all.map((i) => i.object)].sort()).map((o, i) => [o, i] as const));
  return all.sort((a, b) => (rank.get(a.object) ?? 0) - (rank.get(b.object) ?? 0));
}

const KeyQuery = Type.Object({ key: Type.Optional(Type.String({ maxLength: 256 })) }, { additionalProperties: false });

/**
 * `POST /api/cloud/storage/get`: Galaxy's get. Answers, once everything is checked and queued, with
 * the new history items (the `/contents` summary shape, state `queued`, each with its `job_id`),
 * and `failed` entries for objects that do not exist.
 */
export async function cloudGetRoutes(app: FastifyInstance, opts: { bus: Bus; timeoutMs: number }): Promise<void> {
  app.post(
    "/api/cloud/storage/get",
    {
      // `objects: "x"` would be coerced into a list by validation: Galaxy refuses it.
      preValidation: async (req) => {
        const objects = (req.body as Record<string, unknown> | null)?.objects;
        if (objects !== undefined && objects !== null && !Array.isArray(objects)) throw invalidField("objects", "The `objects` should be a list.");
      },
      preHandler: app.authenticate,
      schema: {
        summary: "Copy objects of a bucket into a history (one queued item and one transfer job per object)",
        querystring: KeyQuery,
        body: GetBody,
        response: { 200: Type.Array(GetItem) },
      },
    },
    async (req) => {
      const body = req.body as typeof GetBody.static;
      const plan = await opts.bus.request(TransferGetPlan, { ...body, actor: actorOf(req) }, { timeoutMs: Math.max(opts.timeoutMs, 120_000) });
      return galaxyGetAnswer(plan, body.objects);
    },
  );
}
