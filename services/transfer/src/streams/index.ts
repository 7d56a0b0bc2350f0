export { awaitStreams, type StreamsGate, type StreamsGateOptions } from "./await-streams.ts";
export { missingStreams, provisionStreams } from "./provisioning.ts";
export { PROVISION_COMMAND, type TransferStreams, type TransferStreamSettings, transferStreams } from "./specs.ts";
