import type { PartLimits } from "@skyferry/storage";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** S3's multipart limits: parts of 5 MiB..5 GiB (the last may be smaller), 10,000 parts, 5 TiB objects. */
export const S3_LIMITS: PartLimits = {
  minPartSize: 5 * MiB,
  maxPartSize: 5 * GiB,
  maxParts: 10_000,
  maxObjectSize: 5 * 1024 * GiB,
};

export const S3_DEFAULT_PART_SIZE = 8 * MiB;
export const S3_DEFAULT_CONCURRENCY = 4;

/** Metadata key naming the multipart upload that claimed a key for a create-only put ("claim" mode). */
export const CLAIM_METADATA = "skyferry-claim";

/** Socket idle time allowed per request before it fails as TRANSIENT. */
export const S3_REQUEST_TIMEOUT_MS = 120_000;
