import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { GetOptions, type RpcResponse, TransferGetPlan } from "@skyferry/contracts";
import type { FastifyInstance } from "fastify";
import { actorOf } from "../plugins/auth.ts";

const GetBody = Type.Object(GetOptions, { additionalProperties: false });
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
      preHandler: app.authenticate,
      schema: {
        summary: "Copy objects of a bucket into a history (one queued item and one transfer job per object)",
        querystring: KeyQuery,
        body: GetBody,
        response: { 200: TransferGetPlan.responseData },
      },
    },
    async (req): Promise<RpcResponse<typeof TransferGetPlan>> => {
      const body = req.body as typeof GetBody.static;
      return opts.bus.request(TransferGetPlan, { ...body, actor: actorOf(req) }, { timeoutMs: Math.max(opts.timeoutMs, 120_000) });
    },
  );
}
