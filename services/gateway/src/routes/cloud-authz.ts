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
} from "@skyferry/contracts";
import { malformedId } from "@skyferry/errors";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { actorOf } from "../plugins/auth.ts";

export interface CloudAuthzRouteOptions {
  bus: Bus;
  timeoutMs: number;
}

const KeyQuery = Type.Object({ key: Type.Optional(Type.String({ maxLength: 256 })) }, { additionalProperties: false });
const AuthzParams = Type.Object({ id: Type.String({ maxLength: 64, description: "a cloud authorization id" }) });
const TestBody = Type.Union([
  Type.Object({ bucket: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: "a bucket (S3) or container (Azure) to check access to" })) }, { additionalProperties: false }),
  Type.Null(),
]);
const ID = /^[0-9a-f]{16}$/;
/** `/test` talks to the provider (token endpoint, STS, storage): allow it longer than a plain read. */
const TEST_TIMEOUT_MS = 45_000;

/** Galaxy's `/api/cloud/authz` (list, create, update, delete) plus get and `/test`; scoped to the caller. */
export async function cloudAuthzRoutes(app: FastifyInstance, opts: CloudAuthzRouteOptions): Promise<void> {
  const { bus, timeoutMs } = opts;
  const ref = (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    if (!ID.test(id)) throw malformedId("id", id);
    return { actor: actorOf(req), authz_id: id };
  };
  const base = { preHandler: app.authenticate };
  const one = { params: AuthzParams, querystring: KeyQuery, response: { 200: CloudAuthzView } };

  app.get(
    "/api/cloud/authz",
    { ...base, schema: { summary: "The caller's cloud authorizations (secrets masked)", querystring: KeyQuery, response: { 200: Type.Array(CloudAuthzView) } } },
    async (req) => bus.request(AuthzCloudList, { actor: actorOf(req) }, { timeoutMs }),
  );
  app.post(
    "/api/cloud/authz",
    {
      ...base,
      schema: { summary: "Define a cloud authorization (aws, azure or s3); secrets are sealed and never returned", querystring: KeyQuery, body: CloudAuthzInput, response: { 200: CloudAuthzView } },
    },
    async (req) => bus.request(AuthzCloudCreate, { actor: actorOf(req), input: req.body as CloudAuthzInput }, { timeoutMs }),
  );
  app.get("/api/cloud/authz/:id", { ...base, schema: { ...one, summary: "One cloud authorization" } }, async (req) => bus.request(AuthzCloudGet, ref(req), { timeoutMs }));
  app.put(
    "/api/cloud/authz/:id",
    { ...base, schema: { ...one, body: CloudAuthzChanges, summary: "Change a cloud authorization; a secret sent back masked keeps its value" } },
    async (req) => bus.request(AuthzCloudUpdate, { ...ref(req), changes: req.body as CloudAuthzChanges }, { timeoutMs }),
  );
  app.delete("/api/cloud/authz/:id", { ...base, schema: { ...one, summary: "Delete a cloud authorization (answers the deleted record)" } }, async (req) =>
    bus.request(AuthzCloudDelete, ref(req), { timeoutMs }),
  );
  app.post(
    "/api/cloud/authz/:id/test",
    {
      ...base,
      schema: {
        summary: "Obtain credentials for real and check access (to `bucket` when given); 200 with ok false and the provider's reason when refused",
        params: AuthzParams,
        querystring: KeyQuery,
        body: TestBody,
        response: { 200: CloudAuthzTestResult },
      },
    },
    async (req) => {
      const body = (req.body ?? {}) as { bucket?: string };
      return bus.request(AuthzCloudTest, { ...ref(req), ...(body.bucket !== undefined ? { bucket: body.bucket } : {}) }, { timeoutMs: Math.max(timeoutMs, TEST_TIMEOUT_MS) });
    },
  );
}
