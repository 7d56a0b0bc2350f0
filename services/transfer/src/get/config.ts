import { Type } from "@sinclair/typebox";

/** Settings of get from cloud (spread into TransferConfig; each read from the environment variable of the same name). */
export const GetConfig = {
  /** Most objects one get may copy (named or under `prefix`); more -> 400. */
  TRANSFER_GET_MAX_OBJECTS: Type.Integer({ default: 1000, minimum: 1, maximum: 10_000 }),
  /** Most bytes one get under `prefix` may copy, in MiB; more -> 400. */
  TRANSFER_GET_MAX_MB: Type.Integer({ default: 102_400, minimum: 1 }),
  /** Objects checked (head) at once while a get is planned. */
  TRANSFER_GET_HEAD_CONCURRENCY: Type.Integer({ default: 16, minimum: 1, maximum: 128 }),
};
