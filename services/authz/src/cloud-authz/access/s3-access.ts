import { ListBucketsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { S3Credentials } from "@skyferry/contracts";
import { guardedAgents } from "@skyferry/outbound-policy";
import { classifyFailure } from "@skyferry/storage";
import type { AccessCheck, ProviderSettings } from "../provider.ts";

/**
 * Checks S3 credentials with one cheap authenticated call: ListObjectsV2 (1 key) on `bucket`, or
 * ListBuckets without one. ListObjectsV2 rather than HeadBucket: a HEAD error has no body, so the
 * provider's reason would be lost.
 */
export async function checkS3Access(c: S3Credentials, bucket: string | undefined, settings: Pick<ProviderSettings, "timeoutMs" | "outbound">): Promise<AccessCheck> {
  const { timeoutMs } = settings;
  // Fresh agents per check: each connection's address passes the outbound policy first.
  const agents = guardedAgents(settings.outbound, { keepAlive: false });
  const checked = bucket === undefined ? "account" : "bucket";
  const client = new S3Client({
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.force_path_style,
    credentials: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, ...(c.session_token ? { sessionToken: c.session_token } : {}) },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: Math.min(timeoutMs, 5000), requestTimeout: timeoutMs, httpAgent: agents.http, httpsAgent: agents.https },
  });
  try {
    if (bucket === undefined) await client.send(new ListBucketsCommand({}));
    else await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
    return { ok: true, checked };
  } catch (err) {
    return { ok: false, checked, failure: classifyFailure(err) };
  } finally {
    client.destroy();
  }
}
