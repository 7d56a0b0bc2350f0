import { randomBytes } from "node:crypto";
import type { PartLimits } from "@skyferry/storage";

const MiB = 1024 * 1024;

/** Azure block blob limits: 50,000 blocks of at most 4000 MiB. */
export const AZURE_LIMITS: PartLimits = {
  minPartSize: 1,
  maxPartSize: 4000 * MiB,
  maxParts: 50_000,
  maxObjectSize: 50_000 * 4000 * MiB,
};
export const AZURE_DEFAULT_PART_SIZE = 8 * MiB;
export const AZURE_DEFAULT_CONCURRENCY = 4;

/** A new upload id: 16 hex characters naming this upload's blocks. */
export function newUploadId(): string {
  return randomBytes(8).toString("hex");
}

/**
 * The block id of part `number` of upload `uploadId` holding bytes with MD5 `md5Hex`. Ids have one
 * fixed width (Azure requires equal-length ids within a blob) and are deterministic, so a resumed
 * upload recognises its uncommitted blocks, and the MD5 in the id proves a listed block holds these
 * very bytes (the service checked the MD5 when the block was staged).
 */
export function blockId(uploadId: string, number: number, md5Hex: string): string {
  return Buffer.from(`${uploadId.padEnd(16, "0").slice(0, 16)}-${String(number).padStart(6, "0")}-${md5Hex}`).toString("base64");
}
