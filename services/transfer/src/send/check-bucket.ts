import type { Actor } from "@skyferry/contracts";
import type { ObjectStore } from "@skyferry/storage";
import type { StoreFor } from "../worker/stores.ts";
import { bucketError, bucketNotFound } from "../get/errors.ts";

/**
 * Before a send queues anything: the bucket exists (404 otherwise) and the credentials are
 * accepted for it (403 with the provider's reason: a wrong secret, a role without access), the
 * same check get makes (HeadBucket on S3, container properties on Azure).
 */
export async function checkSendBucket(
  openStore: (who: StoreFor) => Promise<ObjectStore>,
  actor: Actor,
  authzId: string,
  bucket: string,
): Promise<void> {
  // Credentials against the request's signed actor, as the get planner's check.
  const store = await openStore({ user_id: actor.user_id, authz_id: authzId, actor });
  try {
    const exists = await store.bucketExists(bucket).catch((err: unknown) => Promise.reject(bucketError(bucket, err)));
    if (!exists) throw bucketNotFound(bucket);
  } finally {
    await store.close();
  }
}
