import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Static, Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { DatasetObject, GetOptions, type RpcResponse, TransferGetPlan } from "@skyferry/contracts";
import { invalidField } from "@skyferry/errors";
import { actorOf } from "../plugins/auth.ts";
import { KeyQuery } from "./query.ts";

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
function galaxyGetAnswer(plan: RpcResponse<typeof TransferGetPlan>, objects: string[] | undefined): Array<Static<typeof GetItem>> {
  const failed = plan.failed.map((f) => ({
    id: null, job_id: null, object: f.object, name: f.object.split("/").pop() || f.object, state: "error" as const,
    misc_info: f.error, history_content_type: "dataset" as const, deleted: false, visible: true,
  }));
  const all: Array<Static<typeof GetItem>> = [...plan.items, ...failed];
  const rank = new Map((objects ?? [...all.map((i) => i.object)].sort()).map((o, i) => [o, i] as const));
  return all.sort((a, b) => (rank.get(a.object) ?? 0) - (rank.get(b.object) ?? 0));
}

/**
 * `POST /api/cloud/storage/get`: Galaxy's get. Answers, once everything is checked and queued, with
 * the new history items (the `/contents` summary shape, state `queued`, each with its `job_id`),
 * and `failed` entries for objects that do not exist. Register inside `authenticated(...)`.
 */
export const cloudGetRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  app.post(
    "/api/cloud/storage/get",
    {
      // `objects: "x"` would be coerced into a list by validation: Galaxy refuses it.
      preValidation: async (req) => {
        const body: unknown = req.body;
        const objects = typeof body === "object" && body !== null && "objects" in body ? body.objects : undefined;
        if (objects !== undefined && objects !== null && !Array.isArray(objects)) throw invalidField("objects", "The `objects` should be a list.");
      },
      schema: {
        summary: "Copy objects of a bucket into a history (one queued item and one transfer job per object)",
        querystring: KeyQuery,
        body: GetBody,
        response: { 200: Type.Array(GetItem) },
      },
    },
    async (req) => {
      const body = req.body;
      const plan = await opts.bus.request(TransferGetPlan, { ...body, actor: actorOf(req) }, { timeoutMs: Math.max(opts.timeoutMs, 120_000) });
      return galaxyGetAnswer(plan, body.objects);
    },
  );
};
