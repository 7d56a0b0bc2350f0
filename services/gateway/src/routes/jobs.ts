import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { DatasetGet, JobState, TransferJob, TransferJobCancel, TransferJobGet, TransferJobList, TransferJobRetry } from "@skyferry/contracts";
import { isSkyferryError, malformedId } from "@skyferry/errors";
import { uploadJobOf, UploadJob } from "../galaxy/upload-job.ts";
import { FETCH_TOOL } from "./galaxy-uploads.ts";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { actorOf } from "../plugins/auth.ts";
import { streamJobEvents } from "./job-events.ts";

const KeyQuery = Type.Object({ key: Type.Optional(Type.String({ maxLength: 256 })) }, { additionalProperties: false });
const JobParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ListQuery = Type.Object(
  {
    key: Type.Optional(Type.String({ maxLength: 256 })),
    history_id: Type.Optional(Type.String({ maxLength: 64 })),
    state: Type.Optional(JobState),
    /** Galaxy's ordering switch: jobs are listed newest first (by creation, which is also their last change for most). */
    order_by: Type.Optional(Type.Union([Type.Literal("create_time"), Type.Literal("update_time")])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);
const ID = /^[0-9a-f]{16}$/;

/** Galaxy's `/api/jobs` for transfer jobs: read, list, follow (SSE), cancel, retry; scoped to the caller. */
export async function jobRoutes(app: FastifyInstance, opts: { bus: Bus; timeoutMs: number }): Promise<void> {
  const { bus, timeoutMs } = opts;
  const ref = (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    if (!ID.test(id)) throw malformedId("job_id", id);
    return { actor: actorOf(req), job_id: id };
  };
  const one = { preHandler: app.authenticate, schema: { params: JobParams, querystring: KeyQuery, response: { 200: TransferJob } } };

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
    { preHandler: app.authenticate, schema: { summary: "The caller's transfer jobs, newest first", querystring: ListQuery, response: { 200: Type.Array(TransferJob) } } },
    async (req) => {
      const q = req.query as typeof ListQuery.static;
      if (q.history_id !== undefined && !ID.test(q.history_id)) throw malformedId("history_id", q.history_id);
      const { key: _key, order_by: _order, ...filter } = q;
      return bus.request(TransferJobList, { actor: actorOf(req), ...filter }, { timeoutMs });
    },
  );
  app.get(
    "/api/jobs/:id/events",
    { preHandler: app.authenticate, schema: { summary: "Server-Sent Events: progress, then the final state", params: JobParams, querystring: KeyQuery } },
    async (req, reply) => streamJobEvents(bus, req, reply, ref(req), timeoutMs),
  );
}
