import { SystemPing } from "@skyferry/contracts";
import { registerHealth, type ServiceDeps } from "@skyferry/service-kit";
import type { FastifyInstance } from "fastify";
import type { HistoryConfig } from "./config.ts";

/** The history service as a Fastify plugin: health routes and its NATS handlers. */
export async function historyApp(app: FastifyInstance, deps: ServiceDeps<HistoryConfig>): Promise<void> {
  const { bus, mongo, instance } = deps;
  await registerHealth(app, {
    service: "history",
    instance,
    checks: {
      nats: async () => bus.isConnected(),
      mongodb: async () => (mongo ? mongo.ping() : false),
    },
  });
  const subscriptions = [
    bus.serve(SystemPing.history, async ({ echo }) => ({ service: "history" as const, instance, echo, time: new Date().toISOString() })),
  ];
  app.addHook("onClose", async () => {
    await Promise.all(subscriptions.map((s) => s.drain()));
  });
}
