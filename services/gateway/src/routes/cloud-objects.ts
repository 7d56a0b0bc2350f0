import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { ObjectsListOptions, type RpcResponse, TransferObjectsList } from "@skyferry/contracts";
import type { FastifyInstance } from "fastify";
import { actorOf } from "../plugins/auth.ts";

const ListQuery = Type.Object({ key: Type.Optional(Type.String({ maxLength: 256 })), ...ObjectsListOptions }, { additionalProperties: false });

/** `GET /api/cloud/storage/objects`: one page of a bucket's objects and common prefixes (Galaxy only ever answered 501). */
export async function cloudObjectsRoutes(app: FastifyInstance, opts: { bus: Bus; timeoutMs: number }): Promise<void> {
  app.get(
    "/api/cloud/storage/objects",
    {
      preHandler: app.authenticate,
      schema: {
        summary: "List objects and common prefixes of a bucket, page by page",
        querystring: ListQuery,
        response: { 200: TransferObjectsList.responseData },
      },
    },
    async (req): Promise<RpcResponse<typeof TransferObjectsList>> => {
      const { key: _key, ...query } = req.query as typeof ListQuery.static;
      return opts.bus.request(TransferObjectsList, { ...query, actor: actorOf(req) }, { timeoutMs: Math.max(opts.timeoutMs, 30_000) });
    },
  );
}
