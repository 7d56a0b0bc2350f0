import { SystemPing } from "@skyferry/contracts";
import { registerHealth, type ServiceDeps } from "@skyferry/service-kit";
import type { FastifyInstance } from "fastify";
import type { AuthzConfig } from "./config.ts";

/** The authz service as a Fastify plugin: health routes and its NATS handlers. */
export async function authzApp(app: FastifyInstance, deps: ServiceDeps<AuthzConfig>): Promise<void> {
  const { bus, mongo, instance } = deps;
  await registerHealth(app, {
    service: "authz",
    instance,
    checks: {
      nats: async () => bus.isConnected(),
      mongodb: async () => (mongo ? mongo.ping() : false),
    },
  });
  const subscriptions = [
    bus.serve(SystemPing.authz, async ({ echo }) => ({ service: "authz" as const, instance, echo, time: new Date().toISOString() })),
  ];
  app.addHook("onClose", async () => {
    await Promise.all(subscriptions.map((s) => s.drain()));
  });
}
