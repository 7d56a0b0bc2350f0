import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { DatasetGet, IdParam, JobState, TransferJob, TransferJobCancel, TransferJobGet, TransferJobList, TransferJobRetry } from "@skyferry/contracts";
import { isSkyferryError } from "@skyferry/errors";
import { uploadJobOf, UploadJob } from "../galaxy/upload-job.ts";
import { FETCH_TOOL } from "./galaxy-uploads.ts";
import type { FastifyRequest } from "fastify";
import { actorOf } from "../plugins/auth.ts";
import { streamJobEvents } from "./job-events.ts";
import { Key, KeyQuery, strict } from "./query.ts";

const JobParams = Type.Object({ id: IdParam("job_id") });
const ListQuery = Type.Object(
  {
    key: Key,
    history_id: Type.Optional(IdParam("history_id")),
    state: Type.Optional(JobState),
    /** Galaxy's ordering switch: jobs are listed newest first (by creation, which is also their last change for most). */
    order_by: Type.Optional(Type.Union([Type.Literal("create_time"), Type.Literal("update_time")])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  strict,
);

/** Galaxy's `/api/jobs` for transfer jobs: read, list, follow (SSE), cancel, retry; scoped to the caller. Register inside `authenticated(...)`. */
export const jobRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  const { bus, timeoutMs } = opts;
  const ref = (req: FastifyRequest & { params: { id: string } }) => ({ actor: actorOf(req), job_id: req.params.id });
  const one = { schema: { params: JobParams, querystring: KeyQuery, response: { 200: TransferJob } } };

  app.get(
    "/api/jobs/:id",
    { ...one, schema: { ...one.schema, summary: "A transfer job, or an upload's job (Galaxy's tool and fetch APIs)", response: { 200: Type.Union([TransferJob, UploadJob]) } } },
    async (req) => {
      const r = ref(req);
      try {
        return await bus.request(TransferJobGet, r, { timeoutMs });
      } catch (err) {
        // An upload's job has its dataset's id (services/gateway/src/galaxy/upload-job.ts).
        if (!isSkyferryError(err) || err.status !== 404) throw err;
        const d = await bus.request(DatasetGet, { actor: r.actor, dataset_id: r.job_id }, { timeoutMs }).catch(() => {
          throw err;
        });
        return uploadJobOf(d, FETCH_TOOL);
      }
    },
  );
  app.delete("/api/jobs/:id", { ...one, schema: { ...one.schema, summary: "Cancel a job (aborts its upload)" } }, async (req) =>
    bus.request(TransferJobCancel, ref(req), { timeoutMs }),
  );
  app.post("/api/jobs/:id/retry", { ...one, schema: { ...one.schema, summary: "Queue a failed job again" } }, async (req) =>
    bus.request(TransferJobRetry, ref(req), { timeoutMs }),
  );
  app.get(
    "/api/jobs",
    { schema: { summary: "The caller's transfer jobs, newest first", querystring: ListQuery, response: { 200: Type.Array(TransferJob) } } },
    async (req) => {
      const { key: _key, order_by: _order, ...filter } = req.query;
      return bus.request(TransferJobList, { actor: actorOf(req), ...filter }, { timeoutMs });
    },
  );
  app.get(
    "/api/jobs/:id/events",
    { schema: { summary: "Server-Sent Events: progress, then the final state", params: JobParams, querystring: KeyQuery } },
    async (req, reply) => streamJobEvents(bus, req, reply, ref(req), timeoutMs),
  );
};
