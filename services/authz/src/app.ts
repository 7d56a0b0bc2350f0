import { loadActorVerifier } from "@skyferry/actor";
import { withActorCheck } from "@skyferry/bus";
import { SystemPing } from "@skyferry/contracts";
import { registerHealth, type ServiceDeps } from "@skyferry/service-kit";
import type { FastifyInstance } from "fastify";
import { createAccounts } from "./accounts.ts";
import { createCloudAuthzModule } from "./cloud-authz/index.ts";
import type { AuthzConfig } from "./config.ts";
import { createGrants } from "./crypto/grants.ts";
import { createSecretBox } from "./crypto/secret-box.ts";
import { createOutboundPolicy } from "@skyferry/outbound-policy";

/** The authz service as a Fastify plugin: health routes and its NATS handlers. */
export async function authzApp(app: FastifyInstance, deps: ServiceDeps<AuthzConfig>): Promise<void> {
  const { mongo, instance, config } = deps;
  if (!mongo) throw new Error("the authz service needs MongoDB");
  // Every request that acts for a user is served only once its actor assertion verifies.
  const bus = withActorCheck(deps.bus, await loadActorVerifier(config.SKYFERRY_ACTOR_PUBLIC_KEY_FILE, config.SKYFERRY_NAMESPACE));
  const now = () => new Date();
  // Seals secrets at rest (identity tokens, cloud authorization secrets).
  const box = createSecretBox(config.SKYFERRY_ENCRYPTION_KEYS, config.SKYFERRY_ENCRYPTION_KEY_ID);
  // Users, identities, sessions, API keys, sign-in. `accounts.identityTokens.getFreshIdToken` gives
  // cloud authorizations an identity's current ID token.
  const accounts = await createAccounts({ config, bus, db: mongo.db, box, now });
  const cloudAuthz = await createCloudAuthzModule({
    bus,
    db: mongo.db,
    box,
    idTokens: accounts.identityTokens,
    grants: createGrants({ keys: config.SKYFERRY_ENCRYPTION_KEYS, current: config.SKYFERRY_ENCRYPTION_KEY_ID, now }),
    settings: { awsStsEndpoint: config.SKYFERRY_AWS_STS_ENDPOINT, awsS3Endpoint: config.SKYFERRY_AWS_S3_ENDPOINT, awsMaxSessionSeconds: config.SKYFERRY_AWS_MAX_SESSION_SECONDS, timeoutMs: config.SKYFERRY_CLOUD_TIMEOUT_MS, outbound: createOutboundPolicy({ allow: config.SKYFERRY_OUTBOUND_ALLOW }) },
    now,
  });
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
    ...accounts.subscriptions,
    ...cloudAuthz.subscriptions,
  ];
  app.addHook("onClose", async () => {
    await Promise.all(subscriptions.map((s) => s.drain()));
  });
}
