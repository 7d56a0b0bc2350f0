import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { type Static, Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { SystemPing } from "@skyferry/contracts";

const ServiceStatus = Type.Object({
  ok: Type.Boolean(),
  instance: Type.Optional(Type.String()),
  latency_ms: Type.Optional(Type.Number()),
  error: Type.Optional(Type.String()),
});
const StatusResponse = Type.Object({
  gateway: Type.Literal("ok"),
  services: Type.Record(Type.String(), ServiceStatus),
});
type StatusResponse = Static<typeof StatusResponse>;

/** Pings every service over NATS (`GET /api/status`); used by `npm start` and operators, not by readiness. */
export async function pingServices(bus: Bus, timeoutMs: number, echo = "status"): Promise<StatusResponse["services"]> {
  const entries = await Promise.all(
    Object.entries(SystemPing).map(async ([name, contract]) => {
      const started = performance.now();
      try {
        const res = await bus.request(contract, { echo }, { timeoutMs });
        if (res.echo !== echo) return [name, { ok: false, error: "echo mismatch" }] as const;
        return [name, { ok: true, instance: res.instance, latency_ms: Math.round((performance.now() - started) * 10) / 10 }] as const;
      } catch (err) {
        return [name, { ok: false, error: err instanceof Error ? err.message : String(err) }] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}

export const statusRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  app.get(
    "/api/status",
    {
      schema: {
        summary: "Reachability of every skyferry service over NATS",
        querystring: Type.Object({ echo: Type.Optional(Type.String({ maxLength: 256 })) }, { additionalProperties: false }),
        response: { 200: StatusResponse },
      },
    },
    async (req): Promise<StatusResponse> => {
      return { gateway: "ok", services: await pingServices(opts.bus, opts.timeoutMs, req.query.echo ?? "status") };
    },
  );
};
