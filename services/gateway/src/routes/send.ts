import { randomUUID } from "node:crypto";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { joinSendResultPages, SendOptions, SendResult, TransferSendPaged } from "@skyferry/contracts";
import { invalidField, malformedId } from "@skyferry/errors";
import type { FastifyInstance } from "fastify";
import { actorOf } from "../plugins/auth.ts";

const ID = /^[0-9a-f]{16}$/;

const SendBody = Type.Object(SendOptions, { additionalProperties: false });
const KeyQuery = Type.Object({ key: Type.Optional(Type.String({ maxLength: 256 })) }, { additionalProperties: false });

/** `POST /api/cloud/storage/send`: Galaxy's send, answered as soon as one job per dataset is queued. */
export async function sendRoutes(app: FastifyInstance, opts: { bus: Bus; timeoutMs: number }): Promise<void> {
  app.post(
    "/api/cloud/storage/send",
    {
      // Validation would coerce `"abc"` into `["abc"]`: Galaxy refuses anything but a list of ids.
      preValidation: async (req) => {
        const ids = (req.body as Record<string, unknown> | null)?.dataset_ids;
        if (ids === undefined || ids === null) return;
        if (!Array.isArray(ids)) throw invalidField("dataset_ids", "The `dataset_ids` should be a list of dataset ids.");
        const bad = ids.find((id) => typeof id !== "string" || !ID.test(id));
        if (bad !== undefined) throw malformedId("dataset_ids", String(bad));
      },
      preHandler: app.authenticate,
      schema: {
        summary: "Copy datasets of a history to a bucket (one transfer job per dataset)",
        querystring: KeyQuery,
        body: SendBody,
        response: { 200: SendResult },
      },
    },
    async (req) => {
      const body = req.body as typeof SendBody.static;
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
}
