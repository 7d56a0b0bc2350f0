import { S3Client } from "@aws-sdk/client-s3";
import { renewingCredentials, toIdentity } from "./credentials.ts";
import type { S3StoreOptions } from "./options.ts";

const FIVE_MINUTES = 5 * 60_000;

/** Builds the S3 client for a store: Content-MD5 integrity instead of flexible checksums. */
export function createS3Client(options: S3StoreOptions): S3Client {
  const credentials =
    typeof options.credentials === "function"
      ? renewingCredentials(options.credentials, options.refreshMarginMs ?? FIVE_MINUTES)
      : toIdentity(options.credentials);
  return new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    credentials,
    maxAttempts: options.maxAttempts ?? 3,
    // radosgw predates flexible checksums and refuses the SDK's streamed aws-chunked bodies (411):
    // integrity comes from Content-MD5 on every part instead.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 120_000, connectionTimeout: 10_000 },
  });
}
