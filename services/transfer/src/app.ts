import { SystemPing } from "@skyferry/contracts";
import { registerHealth, type ServiceDeps } from "@skyferry/service-kit";
import type { FastifyInstance } from "fastify";
import type { TransferConfig } from "./config.ts";

/** The transfer service as a Fastify plugin: health routes and its NATS handlers. */
export async function transferApp(app: FastifyInstance, deps: ServiceDeps<TransferConfig>): Promise<void> {
  const { bus, mongo, instance } = deps;
  await registerHealth(app, {
    service: "transfer",
    instance,
    checks: {
      nats: async () => bus.isConnected(),
      mongodb: async () => (mongo ? mongo.ping() : false),
    },
  });
  const subscriptions = [
    bus.serve(SystemPing.transfer, async ({ echo }) => ({ service: "transfer" as const, instance, echo, time: new Date().toISOString() })),
  ];
  app.addHook("onClose", async () => {
    await Promise.all(subscriptions.map((s) => s.drain()));
  });
}
