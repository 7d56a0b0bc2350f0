import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Static } from "@sinclair/typebox";
import * as O from "@skyferry/cli/json-output";
import { buildCli, type CliHome, cliHome, parseAs } from "../support/cli.ts";
import { createAzureContainer, createS3Bucket, independentAzure, independentS3, readAzure, readS3, removeS3Buckets, sha256 } from "../support/send.ts";
import { startSendWorld, type SendWorld } from "../support/send-system.ts";
import { stackEnv } from "../support/stack-env.ts";

// The seed through the command line only: log in with an API key, define an S3 and an Azure
// authorization, create a history, upload three files, send them to a bucket and to a
// container, watch the jobs to the end. Nothing but `skyferry` talks to skyferry; the objects
// are then read back with the providers' own SDKs, and every --json document is validated
// against the CLI's schemas (packages/cli/src/json-output.ts).

const files = [
  { name: "rep1.bed", body: Buffer.from("chr1\t100\t200\tpeak1\n".repeat(5000)) },
  // Larger than the single-PUT limit (16 MiB): a multipart upload.
  { name: "rep 2.bed", body: randomBytes(20 * 1024 * 1024 + 17) },
  { name: "empty.txt", body: Buffer.alloc(0) },
];

describe("the seed through the skyferry command line", () => {
  const stack = stackEnv();
  const bucket = `cli-seed-${randomBytes(4).toString("hex")}`;
  let world: SendWorld;
  let home: CliHome;
  let apiKey: string;
  let sky: CliHome["run"];
  before(async () => {
    buildCli();
    world = await startSendWorld({ label: "cli-seed" });
    apiKey = (await world.user()).apiKey;
    home = cliHome();
    sky = home.run;
    for (const f of files) writeFileSync(join(home.dir, f.name), f.body);
    await createS3Bucket(independentS3(), bucket);
    await createAzureContainer(independentAzure(), bucket);
  });
  after(async () => {
    await removeS3Buckets(independentS3(), [bucket]).catch(() => undefined);
    await independentAzure().getContainerClient(bucket).deleteIfExists().catch(() => undefined);
    await world?.close();
    home?.close();
  });

  test("login, authz add s3 and azure, histories create, upload, send (detached + watch, and followed), ls, get, download; objects read back byte-identical", async () => {
    // Without credentials: exit 3, a coded error on stderr.
    const anon = await sky(["--server", world.sys.url, "histories", "ls"]);
    assert.equal(anon.code, 3, anon.stderr);
    assert.match(anon.stderr, /^CLI_NO_API_KEY: /);
    const wrong = await sky(["--server", world.sys.url, "login", "--api-key", "0".repeat(32), "--json"]);
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, /^401001: /m);

    // 1. Log in with the API key; the profile is stored 0600 and used from then on (no --server).
    const login = await sky(["--server", world.sys.url, "login", "--api-key", apiKey, "--json"]);
    assert.equal(login.code, 0, login.stderr);
    const who = parseAs<Static<typeof O.LoginOutput>>(O.LoginOutput, login.stdout, "login --json");
    assert.equal(who.server, world.sys.url);
    assert.equal(who.config, join(home.dir, ".config/skyferry/config.toml"));
    assert.equal(statSync(who.config).mode & 0o777, 0o600);

    // 2. Cloud authorizations; the secrets from a file and from standard input, never argv.
    const secretFile = join(home.dir, "s3-secret");
    writeFileSync(secretFile, `${stack.s3.secretAccessKey}\n`, { mode: 0o600 });
    const addS3 = await sky(["authz", "add", "s3", "--endpoint", stack.s3.endpoint, "--region", stack.s3.region, "--access-key-id", stack.s3.accessKeyId, "--secret-key-file", secretFile, "--description", "stack-s3", "--json"]);
    assert.equal(addS3.code, 0, addS3.stderr);
    const s3 = parseAs<Static<typeof O.AuthzOutput>>(O.AuthzOutput, addS3.stdout, "authz add s3 --json");
    assert.equal(s3.provider, "s3");
    const addAzure = await sky(["authz", "add", "azure", "--account", stack.azure.account, "--endpoint", stack.azure.endpoint, "--account-key-file", "-", "--description", "stack-azure", "--json"], { input: stack.azure.key });
    assert.equal(addAzure.code, 0, addAzure.stderr);
    const azure = parseAs<Static<typeof O.AuthzOutput>>(O.AuthzOutput, addAzure.stdout, "authz add azure --json");
    const listed = parseAs<Static<typeof O.AuthzListOutput>>(O.AuthzListOutput, (await sky(["authz", "ls", "--json"])).stdout, "authz ls --json");
    assert.deepEqual(listed.map((a) => a.id).sort(), [s3.id, azure.id].sort());
    for (const secret of [stack.s3.secretAccessKey, stack.azure.key]) assert.ok(!JSON.stringify(listed).includes(secret), "no secret in the listing");
    const tested = await sky(["authz", "test", "stack-s3", "--bucket", bucket, "--json"]);
    assert.equal(tested.code, 0, tested.stdout + tested.stderr);
    assert.equal(parseAs<Static<typeof O.AuthzTestOutput>>(O.AuthzTestOutput, tested.stdout, "authz test --json").ok, true);

    // 3. A history and the uploads (parallel).
    const created = await sky(["histories", "create", "cli seed", "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const history = parseAs<Static<typeof O.HistoryOutput>>(O.HistoryOutput, created.stdout, "histories create --json");
    const up = await sky(["upload", ...files.map((f) => join(home.dir, f.name)), "--history", "cli seed", "--parallel", "3", "--json"]);
    assert.equal(up.code, 0, up.stderr);
    const uploads = parseAs<Static<typeof O.UploadOutput>>(O.UploadOutput, up.stdout, "upload --json");
    assert.equal(uploads.history_id, history.id);
    assert.deepEqual(uploads.uploads.map((u) => [u.ok, u.bytes, u.datasets[0]?.state]), files.map((f) => [true, f.body.length, "ok"]));

    // 4a. Send to S3 detached, then watch the job ids until done (JSON lines).
    const detached = await sky(["send", "--history", history.id!, "--authz", "stack-s3", "--bucket", bucket, "--prefix", "run1/", "--detach", "--json"]);
    assert.equal(detached.code, 0, detached.stderr);
    const queued = parseAs<Static<typeof O.SendDetachedOutput>>(O.SendDetachedOutput, detached.stdout, "send --detach --json");
    assert.equal(queued.job_ids.length, 3);
    const watch = await sky(["jobs", "watch", ...queued.job_ids, "--json"]);
    assert.equal(watch.code, 0, watch.stderr);
    const lines = watch.stdout.trimEnd().split("\n").map((l, i) => parseAs<Static<typeof O.WatchLine>>(O.WatchLine, l, `jobs watch --json line ${i + 1}`));
    const finals = lines.filter((l): l is Extract<typeof l, { job: unknown }> => l.event === "final");
    assert.deepEqual(finals.map((l) => l.job.id), queued.job_ids, "one final line per job, in the order given");
    assert.ok(lines.some((l) => l.event === "state"), "the stream starts with each job's state");

    // 4b. Send to Azure, followed by the command itself (one JSON document at the end).
    const sent = await sky(["send", "--history", "cli seed", "--authz", azure.id, "--bucket", bucket, "--key-template", "{hid}-{name}", "--json"]);
    assert.equal(sent.code, 0, sent.stderr);
    const azureSend = parseAs<Static<typeof O.SendOutput>>(O.SendOutput, sent.stdout, "send --json");
    assert.equal(azureSend.ok, true);

    // 5. Every object, read back with the providers' own SDKs: bytes and sha256 as uploaded.
    // Uploads run in parallel, so hids follow arrival: match jobs to files by dataset.
    const datasetOf = new Map(uploads.uploads.map((u, i) => [u.datasets[0]!.id!, { file: files[i]!, hid: u.datasets[0]!.hid! }]));
    assert.equal(finals.length, files.length);
    assert.equal(azureSend.jobs.length, files.length);
    for (const { job: s3Job } of finals) {
      const { file: f } = datasetOf.get(s3Job.dataset_id)!;
      assert.equal(s3Job.state, "ok", JSON.stringify(s3Job.error));
      assert.equal(s3Job.object_key, `run1/${f.name.replace(/ /g, "_")}`);
      const fromS3 = await readS3(independentS3(), bucket, s3Job.object_key);
      assert.equal(sha256(fromS3.body), sha256(f.body), `${f.name} on S3`);
    }
    for (const azJob of azureSend.jobs) {
      const { file: f, hid } = datasetOf.get(azJob.dataset_id)!;
      assert.equal(azJob.state, "ok", JSON.stringify(azJob.error));
      assert.equal(azJob.object_key, `${hid}-${f.name.replace(/ /g, "_")}`);
      const fromAzure = await readAzure(independentAzure(), bucket, azJob.object_key);
      assert.equal(sha256(fromAzure.body), sha256(f.body), `${f.name} on Azure`);
      assert.equal(azJob.checksum.sha256, sha256(f.body));
    }

    // 6. The bucket as the CLI lists it: the folder, then its objects.
    const top = parseAs<Static<typeof O.ObjectListOutput>>(O.ObjectListOutput, (await sky(["ls", "--authz", "stack-s3", bucket, "--json"])).stdout, "ls --json");
    assert.deepEqual(top.entries, [{ prefix: "run1/" }]);
    const inside = parseAs<Static<typeof O.ObjectListOutput>>(O.ObjectListOutput, (await sky(["ls", "--authz", "stack-s3", `${bucket}/run1/`, "--json"])).stdout, "ls --json");
    assert.deepEqual(inside.entries.map((e) => ("key" in e ? [e.key, e.size] : e.prefix)), files.map((f) => [`run1/${f.name.replace(/ /g, "_")}`, f.body.length]).sort());

    // 6b. The rest of the command line, each --json document against its schema: history and
    // jobs listings, a dry run, get back from S3 into the history, and downloads, byte for byte.
    const shown = parseAs<Static<typeof O.HistoryShowOutput>>(O.HistoryShowOutput, (await sky(["histories", "show", "cli seed", "--json"])).stdout, "histories show --json");
    assert.equal(shown.datasets.length, files.length);
    const jobList = parseAs<Static<typeof O.JobListOutput>>(O.JobListOutput, (await sky(["jobs", "ls", "--history", history.id!, "--limit", "4", "--json"])).stdout, "jobs ls --json");
    assert.equal(jobList.length, 4, "--limit across pages");
    const oneJob = parseAs<Static<typeof O.JobOutput>>(O.JobOutput, (await sky(["jobs", "show", queued.job_ids[0]!, "--json"])).stdout, "jobs show --json");
    assert.equal(oneJob.id, queued.job_ids[0]);
    const dry = await sky(["send", "--history", history.id!, "--authz", "stack-s3", "--bucket", bucket, "--dataset", "1", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(parseAs<Static<typeof O.SendDryRunOutput>>(O.SendDryRunOutput, dry.stdout, "send --dry-run --json").datasets.length, 1);
    const got = await sky(["get", "--authz", "stack-s3", "--bucket", bucket, "--prefix", "run1/", "--history", history.id!, "--json"]);
    assert.equal(got.code, 0, got.stderr);
    const gotBack = parseAs<Static<typeof O.GetOutput>>(O.GetOutput, got.stdout, "get --json");
    assert.deepEqual(gotBack.jobs.map((j) => [j.state, j.direction]), files.map(() => ["ok", "get"]));
    const downloads = join(home.dir, "downloads");
    mkdirSync(downloads);
    const ids = uploads.uploads.map((u) => u.datasets[0]!.id!);
    const down = await sky(["datasets", "download", ...ids, "-o", downloads, "--json"]);
    assert.equal(down.code, 0, down.stderr);
    const fetched = parseAs<Static<typeof O.DownloadOutput>>(O.DownloadOutput, down.stdout, "datasets download --json");
    for (const [i, f] of files.entries()) {
      assert.equal(fetched[i]!.path, join(downloads, f.name));
      assert.equal(sha256(readFileSync(fetched[i]!.path)), sha256(f.body), `${f.name} downloaded`);
    }

    // 7. A refused send: "fail" on keys that exist -> every job ends in error, exit 1, the summary says so.
    // (The history now also holds what get brought back: name the uploads, by id.)
    const again = await sky(["send", "--history", history.id!, "--authz", "stack-s3", "--bucket", bucket, "--prefix", "run1/", "--overwrite-policy", "fail", "--dataset", ...ids, "--json"]);
    assert.equal(again.code, 1, again.stdout + again.stderr);
    const refused = parseAs<Static<typeof O.SendOutput>>(O.SendOutput, again.stdout, "send --json (refused)");
    assert.equal(refused.ok, false);
    assert.deepEqual(refused.jobs.map((j) => j.state), ["error", "error", "error"]);

    // 7b. Retrying them fails the same way (the keys still exist): exit 1, a second attempt each.
    const failedIds = refused.jobs.map((j) => j.id);
    const retried = await sky(["jobs", "retry", ...failedIds, "--watch", "--json"]);
    assert.equal(retried.code, 1, retried.stdout + retried.stderr);
    const afterRetry = parseAs<Static<typeof O.JobListOutput>>(O.JobListOutput, retried.stdout, "jobs retry --watch --json");
    assert.deepEqual(afterRetry.map((j) => [j.id, j.state, j.error?.code]), failedIds.map((id) => [id, "error", "XFER_OBJECT_EXISTS"]));
    assert.ok(afterRetry.every((j, i) => j.attempts > refused.jobs[i]!.attempts), "each job ran again");

    // 8. Usage errors: exit 2, coded.
    const both = await sky(["send", "--history", history.id!, "--authz", "stack-s3", "--bucket", bucket, "--prefix", "a/", "--key-template", "{name}"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^CLI_USAGE: --prefix and --key-template exclude each other/);
  });
});
