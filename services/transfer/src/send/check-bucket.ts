import type { ObjectStore } from "@skyferry/storage";
import { bucketError, bucketNotFound } from "../get/errors.ts";

/**
 * Before a send queues anything: the bucket exists (404 otherwise) and the credentials are
 * accepted for it (403 with the provider's reason: a wrong secret, a role without access), the
 * same check get makes (HeadBucket on S3, container properties on Azure).
 */
export async function checkSendBucket(
  openStore: (who: { user_id: string; authz_id: string }) => Promise<ObjectStore>,
  userId: string,
  authzId: string,
  bucket: string,
): Promise<void> {
  const store = await openStore({ user_id: userId, authz_id: authzId });
  try {
    const exists = await store.bucketExists(bucket).catch((err: unknown) => Promise.reject(bucketError(bucket, err)));
    if (!exists) throw bucketNotFound(bucket);
  } finally {
    await store.close();
  }
}
