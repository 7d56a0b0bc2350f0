import { type Static, Type } from "@sinclair/typebox";
import { type ConsumerSpec, defineEvent, defineRpc, type StreamSpec, streamToken } from "./define.ts";
import { Actor, Id, Timestamp } from "./envelope.ts";
import { CloudProvider, ProviderFailureSchema } from "./authz.ts";
import { DatasetObject } from "./history.ts";

// Contracts of the transfer service: the send request, the job work item, job RPCs and job events.

/** Galaxy's job states that a transfer job goes through. */
export const JobState = Type.Union([
  Type.Literal("new"),
  Type.Literal("queued"),
  Type.Literal("running"),
  Type.Literal("ok"),
  Type.Literal("error"),
  Type.Literal("deleted"),
]);
export type JobState = Static<typeof JobState>;

/** What happens when the object key is already taken; enforced by the provider's create-only condition. */
export const OverwritePolicy = Type.Union([
  Type.Literal("rename"),
  Type.Literal("skip"),
  Type.Literal("fail"),
  Type.Literal("overwrite"),
]);
export type OverwritePolicy = Static<typeof OverwritePolicy>;

/** The body of `POST /api/cloud/storage/send` (Galaxy's `CloudDatasets` plus skyferry's options). */
export const SendOptions = {
  history_id: Type.String({ maxLength: 64 }),
  authz_id: Type.String({ maxLength: 64 }),
  bucket: Type.String({ maxLength: 255 }),
  /** History item ids (as `/contents` shows); absent or null = every ok dataset. */
  dataset_ids: Type.Optional(Type.Union([Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000 }), Type.Null()])),
  overwrite_existing: Type.Optional(Type.Boolean()),
  /** Literal text put before every key (e.g. `results/`). */
  prefix: Type.Optional(Type.String({ maxLength: 512 })),
  /** Key template; placeholders {history_name} {history_id} {hid} {name} {dataset_id} {ext}. Default `{name}`. */
  key_template: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  /** Overrides `overwrite_existing` (false = rename, true = overwrite). */
  overwrite_policy: Type.Optional(OverwritePolicy),
  /** S3 storage class or Azure access tier. */
  storage_class: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** User metadata written on every object. */
  metadata: Type.Optional(Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]{0,63}$" }), Type.String({ maxLength: 1024 }), { maxProperties: 32 })),
  /** The same key returns the same jobs and never creates duplicates. */
  idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
};

/** One job created (or found again) by a send. */
export const SentJob = Type.Object({ object: Type.String(), job_id: Id, dataset_id: Id, hid: Type.Integer() });
export type SentJob = Static<typeof SentJob>;

/** One dataset that could not be queued. */
export const FailedSend = Type.Object({ object: Type.String(), error: Type.String(), dataset_id: Type.Optional(Type.String()) });
export type FailedSend = Static<typeof FailedSend>;

/** Galaxy's response, labels as JSON strings, plus the same information structured. */
export const SendResult = Type.Object({
  sent_dataset_labels: Type.Array(Type.String()),
  failed_dataset_labels: Type.Array(Type.String()),
  bucket_name: Type.String(),
  sent: Type.Array(SentJob),
  failed: Type.Array(FailedSend),
});
export type SendResult = Static<typeof SendResult>;

const TransferSendRequest = Type.Object(
  { actor: Actor, ...SendOptions, idempotency_key: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

/**
 * A send, internal since issue 18 (the gateway -> transfer, with the actor's assertion); external
 * NATS publishers use `public.transfer.send.v1`. The reply carries the labels, in
 * one NATS message: a send of more than ~6,000 datasets does not fit NATS's default 1 MiB and
 * answers BUS_REPLY_TOO_LARGE (its jobs are queued); `transfer.send.v2` has no such limit.
 */
export const TransferSend = defineRpc("transfer.send", 1, TransferSendRequest, SendResult);

/**
 * The same send with its result in pages (`replies: "many"`; the gateway's POST uses it): each
 * page a `SendResult` with up to SEND_RESULT_PAGE sent and failed entries, in order; the requester
 * joins them (`joinSendResultPages`).
 */
export const TransferSendPaged = defineRpc("transfer.send", 2, TransferSendRequest, SendResult, { replies: "many" });

/**
 * The seed's send for external NATS publishers (`<ns>.rpc.public.transfer.send.v1`), served by
 * the gateway: the HTTP body plus the SHA-256 of the user's API key (never the key, never a user
 * id). The gateway resolves the key hash through authz as for HTTP, signs the actor assertion and
 * forwards the send; the answer is HTTP's (one reply: see `transfer.send.v1` for its size limit).
 */
export const PublicTransferSend = defineRpc(
  "public.transfer.send",
  1,
  Type.Object({ ...SendOptions, api_key_sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }) }, { additionalProperties: false }),
  SendResult,
);

/** Entries of each kind per page of `transfer.send.v2`: ~170 KB of JSON at most. */
export const SEND_RESULT_PAGE = 1000;

/** A send's result as `transfer.send.v2` pages; always at least one page. */
export function* sendResultPages(r: SendResult, size = SEND_RESULT_PAGE): Generator<SendResult> {
  const n = Math.max(r.sent.length, r.failed.length, 1);
  for (let at = 0; at < n; at += size) {
    yield {
      bucket_name: r.bucket_name,
      sent_dataset_labels: r.sent_dataset_labels.slice(at, at + size),
      failed_dataset_labels: r.failed_dataset_labels.slice(at, at + size),
      sent: r.sent.slice(at, at + size),
      failed: r.failed.slice(at, at + size),
    };
  }
}

/** The pages of `transfer.send.v2` joined into one result, in order. */
export async function joinSendResultPages(pages: AsyncIterable<SendResult>): Promise<SendResult> {
  const out: SendResult = { sent_dataset_labels: [], failed_dataset_labels: [], bucket_name: "", sent: [], failed: [] };
  for await (const p of pages) {
    out.bucket_name = p.bucket_name;
    out.sent_dataset_labels.push(...p.sent_dataset_labels);
    out.failed_dataset_labels.push(...p.failed_dataset_labels);
    out.sent.push(...p.sent);
    out.failed.push(...p.failed);
  }
  return out;
}

const JobError = Type.Object({
  code: Type.String(),
  message: Type.String(),
  provider_reason: Type.Optional(Type.String()),
  /** A storage failure in the fixed vocabulary (`ProviderFailure`), with the provider's status and code. */
  failure: Type.Optional(ProviderFailureSchema),
  provider_status: Type.Optional(Type.Integer()),
  provider_code: Type.Optional(Type.String()),
});

/** A job as `GET /api/jobs/{id}` shows it (Galaxy's fields first). */
export const TransferJob = Type.Object({
  id: Id,
  model_class: Type.Literal("Job"),
  state: JobState,
  create_time: Timestamp,
  update_time: Timestamp,
  /** `send_to_cloud`, or `get_from_cloud` for a get job (issue 6). */
  tool_id: Type.Union([Type.Literal("send_to_cloud"), Type.Literal("get_from_cloud")]),
  /** `get` for a job that copies an object into a history; absent (send) otherwise. */
  direction: Type.Optional(Type.Union([Type.Literal("send"), Type.Literal("get")])),
  history_id: Id,
  dataset_id: Id,
  provider: CloudProvider,
  authz_id: Id,
  bucket: Type.String(),
  /** The final key once known (a rename suffix may be added when the planned key is taken). */
  object_key: Type.String(),
  overwrite_policy: OverwritePolicy,
  /** `skipped` when the policy was skip and the key existed. */
  outcome: Type.Union([Type.Literal("uploaded"), Type.Literal("skipped"), Type.Literal("downloaded"), Type.Null()]),
  bytes_total: Type.Integer({ minimum: 0 }),
  bytes_done: Type.Integer({ minimum: 0 }),
  checksum: Type.Object({ sha256: Type.String(), md5: Type.String() }),
  attempts: Type.Integer({ minimum: 0 }),
  error: Type.Union([JobError, Type.Null()]),
  /** The id of the HTTP request that queued the job (its `x-request-id`): its log lines in every service carry it. */
  request_id: Type.Optional(Type.String({ maxLength: 128 })),
});
export type TransferJob = Static<typeof TransferJob>;

const JobRef = Type.Object({ actor: Actor, job_id: Id }, { additionalProperties: false });

/** One job; 404 unless the actor owns it. */
export const TransferJobGet = defineRpc("transfer.job.get", 1, JobRef, TransferJob);
/** The actor's jobs, newest first, optionally filtered. */
export const TransferJobList = defineRpc(
  "transfer.job.list",
  1,
  Type.Object(
    {
      actor: Actor,
      history_id: Type.Optional(Id),
      state: Type.Optional(JobState),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
      offset: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
  Type.Array(TransferJob),
);
/** Cancels a job that has not finished: aborts its upload; state `deleted`. */
export const TransferJobCancel = defineRpc("transfer.job.cancel", 1, JobRef, TransferJob);
/** Queues a failed job again. */
export const TransferJobRetry = defineRpc("transfer.job.retry", 1, JobRef, TransferJob);

/**
 * A transfer job as the transfer service stores it (collection `transfer_jobs`, dates as BSON
 * dates there and as ISO strings here). The one definition of the stored job: the service's
 * `JobDoc` is this with `Date`s, and a work message may carry it (see `TransferJobWork`).
 */
export const TransferJobRecord = Type.Object({
  _id: Id,
  /** Unique: history item + destination + idempotency key. */
  dedupe_key: Type.String(),
  idempotency_key: Type.String(),
  user_id: Id,
  history_id: Id,
  dataset_id: Id,
  hid: Type.Integer(),
  dataset_name: Type.String(),
  store_key: Type.String(),
  authz_id: Id,
  provider: CloudProvider,
  bucket: Type.String(),
  /** The planned key (before any rename suffix). */
  planned_key: Type.String(),
  /** The final key once the object is committed (or the key being uploaded). */
  object_key: Type.String(),
  overwrite_policy: OverwritePolicy,
  storage_class: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Record(Type.String(), Type.String()),
  state: JobState,
  outcome: Type.Union([Type.Literal("uploaded"), Type.Literal("skipped"), Type.Literal("downloaded"), Type.Null()]),
  bytes_total: Type.Integer({ minimum: 0 }),
  bytes_done: Type.Integer({ minimum: 0 }),
  checksum: Type.Object({ sha256: Type.String(), md5: Type.String() }),
  attempts: Type.Integer({ minimum: 0 }),
  /** How many times the job was retried after an error (work message ids `<id>.r<n>`). */
  retries: Type.Integer({ minimum: 0 }),
  error: Type.Union([JobError, Type.Null()]),
  /** The multipart upload in progress: enough to resume it after a crash, or to abort it. */
  upload: Type.Union([Type.Object({ key: Type.String(), upload_id: Type.String() }), Type.Null()]),
  worker: Type.Union([Type.String(), Type.Null()]),
  /** The owner asked to cancel the job: no worker claims or completes it any more. */
  cancel_requested: Type.Optional(Type.Boolean()),
  /** The request that queued the job (the actor assertion's request id, i.e. the gateway's `x-request-id`). */
  request_id: Type.Optional(Type.String({ maxLength: 128 })),
  create_time: Timestamp,
  update_time: Timestamp,
  /** `get`: the job copies the object `object_key` into the history item `dataset_id` (issue 6). */
  direction: Type.Optional(Type.Literal("get")),
  /**
   * The job grant authz issued when the job was planned (one per send or get request, on each of
   * its jobs): the worker's credentials for the job are issued against it. Absent on jobs planned
   * before issue 18 (their credentials are refused: retried jobs get a new grant).
   */
  grant: Type.Optional(Type.String()),
  /**
   * When the job's current run of transient failures began (database or provider unreachable,
   * throttling, a timeout); null or absent once it has no such failure pending. Past the patience
   * (`SKYFERRY_TRANSIENT_PATIENCE_MS`) from this time the job ends `error` ("gave up after ...").
   */
  transient_since: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  /** The last sign of life of the worker running the claimed job: its claim, progress and heartbeat writes. */
  heartbeat_at: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  /**
   * The id of the work message whose delivery holds the job's claim: another message for the same
   * job (a re-drive, a duplicate) does not run it while this one's worker keeps the heartbeat fresh.
   */
  run_msg: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /**
   * Write-ahead of multipart uploads (issue 25): before the worker holding the claim starts an
   * upload at the provider it adds an intent here (`id`, the key, when); recording the upload's id
   * in `upload` removes it in the same update. An intent left here is an upload that may exist at
   * the provider unrecorded (its worker died or lost the database between the two writes): a later
   * attempt, or the job's end, lists the key's uploads started since, aborts those no job records,
   * and removes the intent.
   */
  upload_intents: Type.Optional(Type.Array(Type.Object({ id: Type.String(), key: Type.String(), since: Timestamp }))),
  /** How many times the reconciler re-published the job's work (message ids `<id>.d<n>`). */
  redrives: Type.Optional(Type.Integer({ minimum: 0 })),
  /** What a get job needs beyond the common fields. */
  get: Type.Optional(
    Type.Object({
      /** The object's ETag when the get was planned. */
      etag: Type.String(),
      space_to_tab: Type.Boolean(),
      to_posix_lines: Type.Boolean(),
      /** A forced datatype; null: sniffed. */
      file_type: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});
export type TransferJobRecord = Static<typeof TransferJobRecord>;

/**
 * The work item: one per job, message id = job id (a retry adds `.r<n>`, a re-drive by the
 * reconciler `.d<n>`, a continuation after the last delivery of a transient failure `.c<time>`). It names only the job:
 * the worker loads the job from MongoDB and runs it only as stored there (docs/trust.md,
 * "Workers"); `direction` only routes it (the runner checks the stored job's direction).
 * `user_id` and `job` are no longer sent and are ignored when present.
 */
export const TransferJobWork = defineEvent(
  "skyferry.transfer.job.v1",
  Type.Object({ job_id: Id, user_id: Type.Optional(Id), direction: Type.Optional(Type.Literal("get")) }),
  (ns: string, jobId: string) => `${ns}.transfer.work.${jobId}`,
  (ns) => `${ns}.transfer.work.*`,
);

const Progress = Type.Object({ job_id: Id, state: JobState, bytes_done: Type.Integer({ minimum: 0 }), bytes_total: Type.Integer({ minimum: 0 }) });

/** At most every 500 ms per job while it runs (core NATS). */
export const TransferJobProgress = defineEvent(
  "skyferry.transfer.job.progress.v1",
  Progress,
  (ns: string, jobId: string) => `${ns}.transfer.job.${jobId}.progress`,
  (ns) => `${ns}.transfer.job.*.progress`,
);
/** The object is committed and verified. */
export const TransferJobCompleted = defineEvent(
  "skyferry.transfer.job.completed.v1",
  Type.Object({ job: TransferJob }),
  (ns: string, jobId: string) => `${ns}.transfer.job.${jobId}.completed`,
  (ns) => `${ns}.transfer.job.*.completed`,
);
/** The job ended in `error`, or was cancelled (`deleted`). */
export const TransferJobFailed = defineEvent(
  "skyferry.transfer.job.failed.v1",
  Type.Object({ job: TransferJob }),
  (ns: string, jobId: string) => `${ns}.transfer.job.${jobId}.failed`,
  (ns) => `${ns}.transfer.job.*.failed`,
);
/** Internal: tells the worker running a job to stop it (every transfer instance listens). */
export const TransferJobAbort = defineEvent(
  "skyferry.transfer.job.abort.v1",
  Type.Object({ job_id: Id }),
  (ns: string, jobId: string) => `${ns}.transfer.control.${jobId}.abort`,
  (ns) => `${ns}.transfer.control.*.abort`,
);

/** Every event of one job (for the SSE stream). */
export const transferJobEvents = (ns: string, jobId: string): string => `${ns}.transfer.job.${jobId}.*`;

/** The work-queue stream of transfer jobs. */
export const TransferJobsStream: StreamSpec = {
  name: (ns) => `${streamToken(ns)}_TRANSFER_JOBS`,
  subjects: (ns) => [TransferJobWork.pattern(ns)],
  retention: "workqueue",
  duplicateWindowSeconds: 600,
  maxAgeSeconds: 0,
};

/** The one durable consumer every transfer worker shares. */
export function transferJobsConsumer(ackWaitSeconds: number, maxDeliver: number): ConsumerSpec {
  return { stream: TransferJobsStream, durable: "transfer-workers", ackWaitSeconds, maxDeliver, backoffSeconds: [1, 5, 15, 30, 60] };
}

// ---------------------------------------------------------------------------------------------
// Get from cloud (issue 6): browsing a bucket, and copying objects into a history.

/** One object of a listing page. */
export const CloudObjectEntry = Type.Object({
  key: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  last_modified: Type.Union([Type.String(), Type.Null()]),
  etag: Type.String(),
});
export type CloudObjectEntry = Static<typeof CloudObjectEntry>;

/** The query of `GET /api/cloud/storage/objects` (without the actor). */
export const ObjectsListOptions = {
  authz_id: Type.String({ maxLength: 64 }),
  bucket: Type.String({ maxLength: 255 }),
  prefix: Type.Optional(Type.String({ maxLength: 1024 })),
  delimiter: Type.Optional(Type.String({ minLength: 1, maxLength: 8 })),
  /** Objects and prefixes per page (at most 1000). */
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  /** `next_cursor` of the previous page. */
  cursor: Type.Optional(Type.String({ maxLength: 4096 })),
};

/** One page of a bucket's objects and common prefixes; 404 for a missing bucket, 403 when it may not be read. */
export const TransferObjectsList = defineRpc(
  "transfer.objects.list",
  1,
  Type.Object({ actor: Actor, ...ObjectsListOptions }, { additionalProperties: false }),
  Type.Object({
    bucket: Type.String(),
    objects: Type.Array(CloudObjectEntry),
    prefixes: Type.Array(Type.String()),
    /** Absent on the last page. */
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  }),
);

/** A flag as JSON boolean or Galaxy's strings `"true"` / `"false"`. */
const Flag = Type.Union([Type.Boolean(), Type.Literal("true"), Type.Literal("false")]);

/** Galaxy's `input_args` of a get. */
export const GetInputArgs = Type.Object(
  {
    dbkey: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    /** A datatype extension, or `auto` (sniff). */
    file_type: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
    space_to_tab: Type.Optional(Type.Union([Flag, Type.Null()])),
    to_posix_lines: Type.Optional(Type.Union([Flag, Type.Null()])),
  },
  { additionalProperties: false },
);
export type GetInputArgs = Static<typeof GetInputArgs>;

/** The body of `POST /api/cloud/storage/get` (Galaxy's `CloudObjects`, plus `prefix`). */
export const GetOptions = {
  history_id: Type.String({ maxLength: 64 }),
  authz_id: Type.String({ maxLength: 64 }),
  bucket: Type.String({ maxLength: 255 }),
  /** Object keys; with `prefix`, may be absent. */
  objects: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 10_000 })),
  /** Every object under this prefix (capped in count and bytes by configuration). */
  prefix: Type.Optional(Type.String({ maxLength: 1024 })),
  input_args: Type.Optional(Type.Union([GetInputArgs, Type.Null()])),
};

/** One object that could not be queued (e.g. it does not exist). */
export const FailedGet = Type.Object({ object: Type.String(), error: Type.String() });
export type FailedGet = Static<typeof FailedGet>;

/**
 * Plans a get, all or nothing: history and authorization ownership (404), bucket name (400), bucket
 * readable (404 / 403 with the provider's reason), objects found by head (a missing one is a failed
 * entry), prefix caps (400); then one queued history item and one job per object. The reply's
 * `items` are the new history items in the `/contents` summary shape, each with its `job_id`.
 */
export const TransferGetPlan = defineRpc(
  "transfer.get.plan",
  1,
  Type.Object({ actor: Actor, ...GetOptions }, { additionalProperties: false }),
  Type.Object({
    items: Type.Array(Type.Composite([DatasetObject, Type.Object({ job_id: Id, object: Type.String() })])),
    failed: Type.Array(FailedGet),
    bucket_name: Type.String(),
  }),
);
