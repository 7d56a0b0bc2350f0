import type { Agent as HttpAgent } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import { guardedAgents, type OutboundPolicy } from "@skyferry/outbound-policy";
import type { BuildMiddleware, InitializeMiddleware, MetadataBearer } from "@smithy/types";
import { inSpan, SpanKind } from "@skyferry/tracing";
import { renewingCredentials, toIdentity } from "./credentials.ts";
import { S3_REQUEST_TIMEOUT_MS } from "./limits.ts";
import type { S3StoreOptions } from "./options.ts";

const FIVE_MINUTES = 5 * 60_000;
const quiet = (): void => undefined;
const SILENT = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };

/** Builds the S3 client for a store: Content-MD5 integrity instead of flexible checksums. */
export function createS3Client(options: S3StoreOptions): S3Client {
  const credentials =
    typeof options.credentials === "function"
      ? renewingCredentials(options.credentials, options.refreshMarginMs ?? FIVE_MINUTES)
      : toIdentity(options.credentials);
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    credentials,
    maxAttempts: options.maxAttempts ?? 3,
    // radosgw predates flexible checksums and refuses the SDK's streamed aws-chunked bodies (411):
    // integrity comes from Content-MD5 on every part instead.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? S3_REQUEST_TIMEOUT_MS,
      connectionTimeout: 10_000,
      ...(options.outbound ? guardedHandlerAgents(options.outbound) : {}),
    },
    // Without a logger the SDK prints to the console, e.g. for every streamed PUT refused by its
    // create-only condition (412, an expected answer); errors reach the caller as StorageErrors.
    logger: SILENT,
  });
  client.middlewareStack.add(unsignedPayloadWithMd5, { step: "build", name: "skyferryUnsignedPayloadWithMd5" });
  client.middlewareStack.add(traced, { step: "initialize", name: "skyferryTracing" });
  return client;
}

/**
 * Each S3 operation (retries included) as a client span of the job's trace: `S3 PutObject`,
 * `S3 UploadPart` with its part number. The bucket is named; the object key is not (it is the
 * user's data). A no-op with tracing off.
 */
const traced: InitializeMiddleware<object, MetadataBearer> = (next, ctx) => async (args) => {
  const operation = String((ctx as { commandName?: unknown }).commandName ?? "Request").replace(/Command$/, "");
  const input = args.input as { Bucket?: unknown; PartNumber?: unknown };
  return inSpan("skyferry-storage", `S3 ${operation}`, {
    "rpc.system": "aws-api", "rpc.service": "S3", "rpc.method": operation,
    ...(typeof input.Bucket === "string" ? { "aws.s3.bucket": input.Bucket } : {}),
    ...(typeof input.PartNumber === "number" ? { "aws.s3.part_number": input.PartNumber } : {}),
  }, () => next(args), { kind: SpanKind.CLIENT });
};

/**
 * A body that carries Content-MD5 is signed as UNSIGNED-PAYLOAD: the server checks every byte
 * against that MD5 (400 BadDigest otherwise), and Content-MD5 is itself a signed header, so the
 * SigV4 payload hash (a second full SHA-256 pass over every part, measured at 7% of a worker's
 * CPU on small objects) adds nothing. Requests without Content-MD5 keep the signed payload hash.
 */
const unsignedPayloadWithMd5: BuildMiddleware<object, MetadataBearer> = (next) => async (args) => {
  const headers = (args.request as { headers?: Record<string, string> }).headers;
  if (headers?.["content-md5"] && !headers["x-amz-content-sha256"]) headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  return next(args);
};

/** The SDK's NodeHttpHandler with agents that check each connection's address first (keep-alive as the SDK's own). */
export function guardedHandlerAgents(policy: OutboundPolicy): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  const agents = guardedAgents(policy, { keepAlive: true, maxSockets: 50 });
  return { httpAgent: agents.http, httpsAgent: agents.https };
}
