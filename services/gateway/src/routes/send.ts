import { randomUUID } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { isId, joinSendResultPages, SendOptions, SendResult, TransferSendPaged } from "@skyferry/contracts";
import { invalidField, malformedId } from "@skyferry/errors";
import { actorOf } from "../plugins/auth.ts";
import { KeyQuery } from "./query.ts";

const SendBody = Type.Object(SendOptions, { additionalProperties: false });

/** `POST /api/cloud/storage/send`: Galaxy's send, answered as soon as one job per dataset is queued. Register inside `authenticated(...)`. */
export const sendRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  app.post(
    "/api/cloud/storage/send",
    {
      // Validation would coerce `"abc"` into `["abc"]`: Galaxy refuses anything but a list of ids.
      preValidation: async (req) => {
        const body: unknown = req.body;
        const ids = typeof body === "object" && body !== null && "dataset_ids" in body ? body.dataset_ids : undefined;
        if (ids === undefined || ids === null) return;
        if (!Array.isArray(ids)) throw invalidField("dataset_ids", "The `dataset_ids` should be a list of dataset ids.");
        const bad = ids.find((id) => typeof id !== "string" || !isId(id));
        if (bad !== undefined) throw malformedId("dataset_ids", String(bad));
      },
      schema: {
        summary: "Copy datasets of a history to a bucket (one transfer job per dataset)",
        querystring: KeyQuery,
        body: SendBody,
        response: { 200: SendResult },
      },
    },
    async (req) => {
      const body = req.body;
      const header = req.headers["idempotency-key"];
      const idempotency_key = body.idempotency_key ?? (typeof header === "string" && header.length <= 128 && header ? header : randomUUID());
      // In pages (transfer.send.v2): a send's labels may not fit one NATS message.
      return joinSendResultPages(opts.bus.requestMany(
        TransferSendPaged,
        { ...body, actor: actorOf(req), idempotency_key },
        { timeoutMs: Math.max(opts.timeoutMs, 120_000) },
      ));
    },
  );
};
