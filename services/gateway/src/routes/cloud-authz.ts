import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import {
  AuthzCloudCreate,
  AuthzCloudDelete,
  AuthzCloudGet,
  AuthzCloudList,
  AuthzCloudTest,
  AuthzCloudUpdate,
  CloudAuthzChanges,
  CloudAuthzInput,
  CloudAuthzTestResult,
  CloudAuthzView,
  IdParam,
} from "@skyferry/contracts";
import type { FastifyRequest } from "fastify";
import { actorOf } from "../plugins/auth.ts";
import { KeyQuery } from "./query.ts";

export interface CloudAuthzRouteOptions {
  bus: Bus;
  timeoutMs: number;
}

const AuthzParams = Type.Object({ id: IdParam("id", "a cloud authorization id") });
const TestBody = Type.Union([
  Type.Object({ bucket: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: "a bucket (S3) or container (Azure) to check access to" })) }, { additionalProperties: false }),
  Type.Null(),
]);
/** `/test` talks to the provider (token endpoint, STS, storage): allow it longer than a plain read. */
const TEST_TIMEOUT_MS = 45_000;

/** Galaxy's `/api/cloud/authz` (list, create, update, delete) plus get and `/test`; scoped to the caller. Register inside `authenticated(...)`. */
export const cloudAuthzRoutes: FastifyPluginAsyncTypebox<CloudAuthzRouteOptions> = async (app, opts) => {
  const { bus, timeoutMs } = opts;
  const ref = (req: FastifyRequest & { params: { id: string } }) => ({ actor: actorOf(req), authz_id: req.params.id });
  const one = { params: AuthzParams, querystring: KeyQuery, response: { 200: CloudAuthzView } };

  app.get(
    "/api/cloud/authz",
    { schema: { summary: "The caller's cloud authorizations (secrets masked)", querystring: KeyQuery, response: { 200: Type.Array(CloudAuthzView) } } },
    async (req) => bus.request(AuthzCloudList, { actor: actorOf(req) }, { timeoutMs }),
  );
  app.post(
    "/api/cloud/authz",
    {
      schema: { summary: "Define a cloud authorization (aws, azure or s3); secrets are sealed and never returned", querystring: KeyQuery, body: CloudAuthzInput, response: { 200: CloudAuthzView } },
    },
    async (req) => bus.request(AuthzCloudCreate, { actor: actorOf(req), input: req.body }, { timeoutMs }),
  );
  app.get("/api/cloud/authz/:id", { schema: { ...one, summary: "One cloud authorization" } }, async (req) => bus.request(AuthzCloudGet, ref(req), { timeoutMs }));
  app.put(
    "/api/cloud/authz/:id",
    { schema: { ...one, body: CloudAuthzChanges, summary: "Change a cloud authorization; a secret sent back masked keeps its value" } },
    async (req) => bus.request(AuthzCloudUpdate, { ...ref(req), changes: req.body }, { timeoutMs }),
  );
  app.delete("/api/cloud/authz/:id", { schema: { ...one, summary: "Delete a cloud authorization (answers the deleted record)" } }, async (req) =>
    bus.request(AuthzCloudDelete, ref(req), { timeoutMs }),
  );
  app.post(
    "/api/cloud/authz/:id/test",
    {
      schema: {
        summary: "Obtain credentials for real and check access (to `bucket` when given); 200 with ok false and the provider's reason when refused",
        params: AuthzParams,
        querystring: KeyQuery,
        body: TestBody,
        response: { 200: CloudAuthzTestResult },
      },
    },
    async (req) => {
      const bucket = req.body?.bucket;
      return bus.request(AuthzCloudTest, { ...ref(req), ...(bucket !== undefined ? { bucket } : {}) }, { timeoutMs: Math.max(timeoutMs, TEST_TIMEOUT_MS) });
    },
  );
};
