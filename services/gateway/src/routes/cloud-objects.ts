import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { ObjectsListOptions, type RpcResponse, TransferObjectsList } from "@skyferry/contracts";
import { actorOf } from "../plugins/auth.ts";
import { Key, strict } from "./query.ts";

const ListQuery = Type.Object({ key: Key, ...ObjectsListOptions }, strict);

/** `GET /api/cloud/storage/objects`: one page of a bucket's objects and common prefixes (Galaxy only ever answered 501). Register inside `authenticated(...)`. */
export const cloudObjectsRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  app.get(
    "/api/cloud/storage/objects",
    {
      schema: {
        summary: "List objects and common prefixes of a bucket, page by page",
        querystring: ListQuery,
        response: { 200: TransferObjectsList.responseData },
      },
    },
    async (req): Promise<RpcResponse<typeof TransferObjectsList>> => {
      const { key: _key, ...query } = req.query;
      return opts.bus.request(TransferObjectsList, { ...query, actor: actorOf(req) }, { timeoutMs: Math.max(opts.timeoutMs, 30_000) });
    },
  );
};
