// What `--json` prints, command by command: TypeBox schemas first, the types the commands emit
// derived from them. Shapes the API already defines are the contracts' own schemas (a job is
// exactly `GET /api/jobs/{id}`'s), so a change there changes the CLI's documents too. The
// end-to-end test (test/e2e/cli-seed.test.ts) validates the CLI's real output against these.
import { type Static, Type } from "@sinclair/typebox";
import {
  CloudAuthzTestResult, CloudAuthzView, CloudObjectEntry, DatasetObject, FailedSend, HistoryObject, Id, SentJob, TransferJob, TransferJobProgress,
} from "@skyferry/contracts";

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const ErrorView = Type.Object({ err_code: Type.Union([Type.Integer(), Type.String()]), err_msg: Type.String() });

export const LoginOutput = Type.Object({
  profile: Type.String(),
  server: Type.String(),
  user: Type.Object({ id: Type.String(), email: Nullable(Type.String()), username: Nullable(Type.String()) }),
  config: Type.String({ description: "the config file the key was stored in" }),
});
export type LoginOutput = Static<typeof LoginOutput>;

export const HistoryListOutput = Type.Array(HistoryObject);
export const HistoryOutput = HistoryObject;
export const HistoryShowOutput = Type.Object({ history: HistoryObject, datasets: Type.Array(DatasetObject) });
export const DatasetListOutput = Type.Array(DatasetObject);
export const DownloadOutput = Type.Array(Type.Object({ id: Type.String(), path: Type.String(), bytes: Type.Integer({ minimum: 0 }) }));
export type DownloadOutput = Static<typeof DownloadOutput>;

export const UploadOutput = Type.Object({
  history_id: Id,
  uploads: Type.Array(
    Type.Object({ file: Type.String(), bytes: Type.Integer({ minimum: 0 }), ok: Type.Boolean(), datasets: Type.Array(DatasetObject), error: Nullable(ErrorView) }),
  ),
});
export type UploadOutput = Static<typeof UploadOutput>;

export const AuthzOutput = CloudAuthzView;
export const AuthzListOutput = Type.Array(CloudAuthzView);
export const AuthzTestOutput = CloudAuthzTestResult;

/** `send --dry-run`: the request that would be made and the datasets it names. */
export const SendDryRunOutput = Type.Object({
  dry_run: Type.Literal(true),
  request: Type.Object({ history_id: Id, authz_id: Id, bucket: Type.String() }),
  datasets: Type.Array(Type.Object({ id: Type.Optional(Type.String()), hid: Type.Optional(Type.Integer()), name: Type.Optional(Type.String()), state: Type.Optional(Type.String()), file_size: Type.Integer() })),
  bytes: Type.Integer({ minimum: 0 }),
});
/** `send --detach`: the jobs queued, at once. */
export const SendDetachedOutput = Type.Object({ bucket: Type.String(), job_ids: Type.Array(Id), sent: Type.Array(SentJob), failed: Type.Array(FailedSend) });
/** `send` (and `get`): every job as stored once all ended. */
export const SendOutput = Type.Object({ bucket: Type.String(), jobs: Type.Array(TransferJob), failed: Type.Array(FailedSend), ok: Type.Boolean() });
export const GetOutput = Type.Object({ history_id: Id, jobs: Type.Array(TransferJob), failed: Type.Array(Type.Object({ object: Type.String(), error: Type.String() })), ok: Type.Boolean() });
export const GetDetachedOutput = Type.Object({ history_id: Id, job_ids: Type.Array(Id), items: Type.Array(Type.Record(Type.String(), Type.Unknown())) });

export const ObjectListOutput = Type.Object({
  bucket: Type.String(),
  prefix: Type.String(),
  entries: Type.Array(Type.Union([CloudObjectEntry, Type.Object({ prefix: Type.String() })])),
});

export const JobOutput = TransferJob;
export const JobListOutput = Type.Array(TransferJob);
/** One line of `jobs watch --json`: the SSE events as they come, then each job as stored (`final`). */
export const WatchLine = Type.Union([
  Type.Object({ event: Type.Union([Type.Literal("state"), Type.Literal("completed"), Type.Literal("failed"), Type.Literal("final")]), job: TransferJob }),
  Type.Object({ event: Type.Literal("progress"), job_id: Id, progress: TransferJobProgress.data }),
]);
export type WatchLine = Static<typeof WatchLine>;

export const WhoamiOutput = Type.Object({ profile: Type.String(), server: Type.String(), user: Type.Record(Type.String(), Type.Unknown()) });
