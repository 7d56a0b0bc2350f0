// The provisioning command (docs/trust.md "Permissions"): creates or updates the JetStream streams
// and consumers of one namespace, as the `provisioner` identity, then exits (0: done). Run before
// the transfer service starts and at every upgrade; the service itself may only check them.
//   SKYFERRY_NATS_NKEY_SEED_FILE=.../provisioner.nk SKYFERRY_NAMESPACE=skyferry node services/transfer/dist/provision.mjs
import { Type } from "@sinclair/typebox";
import { createBus, natsSettingsProblems } from "@skyferry/bus";
import { loadConfig } from "@skyferry/config";
import { createLogger } from "@skyferry/logger";
import { BaseConfig, natsCredentials } from "@skyferry/service-kit";
import { TransferConfig } from "./config.ts";
import { provisionStreams } from "./streams/provisioning.ts";
import { transferStreams } from "./streams/specs.ts";

const ProvisionConfig = Type.Object({
  ...BaseConfig,
  PORT: Type.Integer({ default: 0 }),
  // The consumer's settings come from the same keys (and defaults) the workers read.
  TRANSFER_ACK_WAIT_SECONDS: TransferConfig.properties.TRANSFER_ACK_WAIT_SECONDS,
  TRANSFER_MAX_DELIVER: TransferConfig.properties.TRANSFER_MAX_DELIVER,
  TRANSFER_STREAM_REPLICAS: TransferConfig.properties.TRANSFER_STREAM_REPLICAS,
  /** The identity the seed belongs to (its inbox); `operator` in the local stack's tools. */
  SKYFERRY_NATS_IDENTITY: Type.String({ default: "provisioner" }),
});

const config = loadConfig(ProvisionConfig);
const logger = createLogger({ name: "provision", level: config.LOG_LEVEL });
const credentials = natsCredentials(config);
const identity = config.SKYFERRY_NATS_IDENTITY;
const problems = natsSettingsProblems({ url: config.SKYFERRY_NATS_URL, identity, credentials });
if (problems.length > 0) {
  logger.fatal({ problems }, "invalid configuration");
  process.exit(2);
}
try {
  const bus = await createBus({ url: config.SKYFERRY_NATS_URL, namespace: config.SKYFERRY_NAMESPACE, service: "provision", identity, credentials, logger });
  try {
    const done = await provisionStreams(bus, transferStreams(config));
    logger.info({ namespace: config.SKYFERRY_NAMESPACE, provisioned: done }, "JetStream streams and consumers provisioned");
  } finally {
    await bus.drain();
  }
} catch (err) {
  logger.fatal({ err, namespace: config.SKYFERRY_NAMESPACE }, "provisioning failed");
  process.exit(1);
}
