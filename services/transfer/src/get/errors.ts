import { GalaxyCode, SkyferryError, forbidden, invalidField, notFound } from "@skyferry/errors";
import { isStorageError } from "@skyferry/storage";

// Coded errors of get from cloud and bucket listing (XFER_GET_…, XFER_BUCKET_…).

export const bucketNotFound = (bucket: string) => notFound("XFER_BUCKET_NOT_FOUND", `The bucket '${bucket.slice(0, 80)}' does not exist.`);

export const bucketDenied = (bucket: string, reason: string | undefined) =>
  forbidden("XFER_BUCKET_DENIED", `Could not read the bucket '${bucket.slice(0, 80)}': access denied${reason ? ` (${reason.slice(0, 200)})` : ""}.`);

export const prefixTooLarge = (what: string) => invalidField("prefix", `The prefix selects too many objects: ${what}.`);

export const tooManyObjects = (count: number, max: number) => invalidField("objects", `At most ${max} objects can be copied at once; ${count} were named.`);

export const integrityMismatch = (detail: string) =>
  new SkyferryError("XFER_GET_INTEGRITY", `The downloaded bytes do not match the object: ${detail}`, { status: 422, errCode: GalaxyCode.invalid });

export const objectChanged = (key: string) =>
  new SkyferryError("XFER_GET_OBJECT_GONE", `The object '${key.slice(0, 200)}' no longer exists.`, { status: 404, errCode: GalaxyCode.notFound });

/**
 * A storage error from bucket-level checks as the client should see it: a missing bucket 404,
 * refused access 403 with the provider's reason; anything else unchanged.
 */
export function bucketError(bucket: string, err: unknown): unknown {
  if (isStorageError(err, "NOT_FOUND")) return bucketNotFound(bucket);
  if (isStorageError(err, "ACCESS_DENIED")) return bucketDenied(bucket, err.providerReason ?? err.message);
  return err;
}
