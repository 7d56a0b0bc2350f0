import { Type } from "@sinclair/typebox";

/** Settings of get from cloud (spread into TransferConfig; each read from the environment variable of the same name). */
export const GetConfig = {
  /** Most objects one get may copy (named or under `prefix`); more -> 400. */
  TRANSFER_GET_MAX_OBJECTS: Type.Integer({ default: 1000, minimum: 1, maximum: 10_000 }),
  /** Most bytes one get under `prefix` may copy, in MiB; more -> 400. */
  TRANSFER_GET_MAX_MB: Type.Integer({ default: 102_400, minimum: 1 }),
  /** Objects checked (head) at once while a get is planned. */
  TRANSFER_GET_HEAD_CONCURRENCY: Type.Integer({ default: 16, minimum: 1, maximum: 128 }),
  /**
   * Range size in MiB. An object larger than two ranges is "large": its job is marked running before
   * its first byte, and with TRANSFER_GET_RANGE_CONCURRENCY above 1 it is read as ranged GETs in parallel.
   */
  TRANSFER_GET_RANGE_MB: Type.Integer({ default: 8, minimum: 1, maximum: 512 }),
  /**
   * Ranged GETs in flight per large download, written in order (fewer when the get memory budget is
   * smaller); 1: one streamed GET. Worth 4-8 where one connection is slower than a worker (a cloud
   * provider over a WAN); against the local radosgw one stream is faster (1 GiB: about 300 MiB/s in
   * one stream, 170-215 MiB/s in 4 ranges of 8-32 MiB on 2 cores, where hashing is the limit).
   */
  TRANSFER_GET_RANGE_CONCURRENCY: Type.Integer({ default: 1, minimum: 1, maximum: 64 }),
  /**
   * Upper bound for the range buffers of all parallel downloads of a worker, in MiB. One download
   * reserves (ranges in flight + 1) × range size; downloads wait until their share is free.
   */
  TRANSFER_GET_MEMORY_BUDGET_MB: Type.Integer({ default: 64, minimum: 4 }),
};

/** Ranged GETs per parallel download: the configured count, fewer when (count + 1) ranges would not fit the budget. */
export function rangeConcurrency(config: { TRANSFER_GET_RANGE_MB: number; TRANSFER_GET_RANGE_CONCURRENCY: number; TRANSFER_GET_MEMORY_BUDGET_MB: number }): number {
  const fit = Math.floor(config.TRANSFER_GET_MEMORY_BUDGET_MB / config.TRANSFER_GET_RANGE_MB) - 1;
  return Math.max(1, Math.min(config.TRANSFER_GET_RANGE_CONCURRENCY, fit));
}
