import { type ConsumerSpec, type StreamSpec, TransferJobsStream, transferJobsConsumer } from "@skyferry/contracts";

/**
 * How an operator provisions the streams (`provisioner` identity, docs/trust.md): the bundled
 * command (scripts/build-service.mjs), as the README, Compose and Kubernetes run it.
 */
export const PROVISION_COMMAND = "node services/transfer/dist/provision.mjs";

/** The JetStream streams and durable consumers the transfer service works from. */
export interface TransferStreams {
  streams: readonly StreamSpec[];
  consumers: readonly ConsumerSpec[];
}

/** The settings of the work consumer: the provisioning and the workers read the same keys. */
export interface TransferStreamSettings {
  TRANSFER_ACK_WAIT_SECONDS: number;
  TRANSFER_MAX_DELIVER: number;
  TRANSFER_STREAM_REPLICAS: number;
}

export function transferStreams(config: TransferStreamSettings): TransferStreams {
  const stream = { ...TransferJobsStream, replicas: config.TRANSFER_STREAM_REPLICAS };
  return { streams: [stream], consumers: [{ ...transferJobsConsumer(config.TRANSFER_ACK_WAIT_SECONDS, config.TRANSFER_MAX_DELIVER), stream }] };
}
