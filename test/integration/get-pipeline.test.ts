import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { call, md5, sha256, uploadMultipart } from "../support/history.ts";
import { createAzureContainer, createS3Bucket, independentAzure, independentS3, type JobView, removeS3Buckets, repoRoot, waitForJobs } from "../support/send.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

// Get from cloud through the real gateway, authz, history and transfer services against radosgw and
// Azurite: bucket listing, get into a history (bytes, digests, datatype, transforms), the refusals,
// and the round trip upload -> send -> get -> compare.

type Obj = Record<string, unknown>;
interface Item { id: string; job_id: string; object: string; state: string; hid: number; name: string; history_id: string }
interface GetRes { items: Item[]; failed: Array<{ object: string; error: string }>; bucket_name: string; err_msg?: string; err_code?: number }
interface ListRes { objects: Array<{ key: string; size: number; etag: string; last_modified: string | null }>; prefixes: string[]; next_cursor: string | null; err_msg?: string; err_code?: number }

const bucketName = (p: string) => `${p}-${randomBytes(4).toString("hex")}`;
const run = promisify(execFile);

describe("get from cloud: listing and copying objects into a history", () => {
  let oidc: MockOidc;
  let sys: System;
  let user: SignedIn;
  let other: SignedIn;
  const s3Buckets: string[] = [];
  const azureContainers: string[] = [];
  const authz: Record<"s3" | "azure", string> = { s3: "", azure: "" };
  const stack = stackEnv();
  const s3 = independentS3();
  const azure = independentAzure();
  const api = <T = Obj>(who: SignedIn, path: string, init?: { method?: string; body?: unknown }) => call<T>(sys.url, who.apiKey, path, init);
  const newHistory = async (who: SignedIn, name: string) => (await api<Obj & { id: string }>(who, "/api/histories", { method: "POST", body: { name } })).body.id;
  const createAuthz = async (who: SignedIn, body: Obj) => {
    const res = await api<Obj & { id: string }>(who, "/api/cloud/authz", { method: "POST", body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.id;
  };
  const s3Bucket = async (prefix: string) => {
    const b = bucketName(prefix);
    await createS3Bucket(s3, b);
    s3Buckets.push(b);
    return b;
  };
  const azureContainer = async (prefix: string) => {
    const c = bucketName(prefix);
    await createAzureContainer(azure, c);
    azureContainers.push(c);
    return c;
  };
  const put = async (provider: "s3" | "azure", bucket: string, key: string, body: Buffer) => {
    if (provider === "s3") await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    else await azure.getContainerClient(bucket).getBlockBlobClient(key).upload(body, body.length);
  };
  // Galaxy's answer is an array (items; an object not fetched is an item in state error, reason in
  // misc_info); split here into the queued items and the failures the assertions read.
  const get = async (who: SignedIn, body: Obj) => {
    const r = await api<Array<Item & { misc_info?: string }> | GetRes>(who, "/api/cloud/storage/get", { method: "POST", body });
    if (!Array.isArray(r.body)) return r as { status: number; body: GetRes };
    const answer = r.body;
    const failed = answer.filter((i) => i.id === null).map((i) => ({ object: i.object, error: i.misc_info ?? "" }));
    return { ...r, answer, body: { items: answer.filter((i) => i.id !== null), failed, bucket_name: String(body.bucket) } as GetRes };
  };
  const content = (who: SignedIn, historyId: string) => api<Array<Obj>>(who, `/api/histories/${historyId}/contents?keys=id,name,state,extension,file_size,hashes,hid,genome_build`);
  const display = async (who: SignedIn, id: string) => Buffer.from(await (await fetch(`${sys.url}/api/datasets/${id}/display`, { headers: { "x-api-key": who.apiKey } })).arrayBuffer());

  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "get-pipeline", env: { authz: oidcEnv(oidc), transfer: { TRANSFER_GET_MAX_OBJECTS: "5", TRANSFER_GET_MAX_MB: "1" } } });
    user = await signIn(sys);
    other = await signIn(sys);
    authz.s3 = await createAuthz(user, {
      provider: "s3",
      config: { endpoint: stack.s3.endpoint, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, region: stack.s3.region, force_path_style: true },
    });
    authz.azure = await createAuthz(user, { provider: "azure", config: { storage_account: stack.azure.account, endpoint: stack.azure.endpoint, account_key: stack.azure.key } });
  });
  after(async () => {
    await removeS3Buckets(s3, s3Buckets);
    for (const c of azureContainers) await azure.getContainerClient(c).deleteIfExists().catch(() => undefined);
    await sys?.close();
    await oidc?.close();
  });

  for (const provider of ["s3", "azure"] as const) {
    test(`${provider}: listing pages through objects and common prefixes with prefix and delimiter`, async () => {
      const bucket = provider === "s3" ? await s3Bucket("list") : await azureContainer("list");
      for (const k of ["a/1.txt", "a/2.txt", "a/3.txt", "a/sub/4.txt", "b/5.txt", "top.txt"]) await put(provider, bucket, k, Buffer.from(k));
      const q = (extra: string) => api<ListRes>(user, `/api/cloud/storage/objects?authz_id=${authz[provider]}&bucket=${bucket}${extra}`);
      const root = await q("&delimiter=/");
      assert.equal(root.status, 200, JSON.stringify(root.body));
      assert.deepEqual(root.body.objects.map((o) => o.key), ["top.txt"]);
      assert.deepEqual(root.body.prefixes, ["a/", "b/"]);
      assert.equal(root.body.objects[0]!.size, 7);
      assert.ok(root.body.objects[0]!.last_modified);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { status: number; body: ListRes } = await q(`&prefix=a/&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body.objects.length <= 2);
        seen.push(...page.body.objects.map((o) => o.key));
        cursor = page.body.next_cursor;
        pages++;
      } while (cursor && pages < 10);
      assert.deepEqual(seen, ["a/1.txt", "a/2.txt", "a/3.txt", "a/sub/4.txt"]);
      assert.equal(pages, 2);
      const missing = await api<ListRes>(user, `/api/cloud/storage/objects?authz_id=${authz[provider]}&bucket=${bucketName("nope")}`);
      assert.equal(missing.status, 404, JSON.stringify(missing.body));
      assert.equal(missing.body.err_code, 404001);
      const invalid = await api<ListRes>(user, `/api/cloud/storage/objects?authz_id=${authz[provider]}&bucket=Bad_Bucket`);
      assert.equal(invalid.status, 400);
      assert.equal(invalid.body.err_code, 400008);
    });

    test(`${provider}: objects put directly become ok datasets with the same bytes; a missing one is a failed entry`, async () => {
      const bucket = provider === "s3" ? await s3Bucket("get") : await azureContainer("get");
      const bed = Buffer.from("chr1\t100\t200\tpeak1\nchr1\t300\t400\tpeak2\n");
      const bin = randomBytes(6 * 1024 * 1024 + 5);
      await put(provider, bucket, "peaks.bed", bed);
      await put(provider, bucket, "dir/blob.bin", bin);
      const historyId = await newHistory(user, `get ${provider}`);
      const res = await get(user, { history_id: historyId, authz_id: authz[provider], bucket, objects: ["peaks.bed", "dir/blob.bin", "absent.txt"], input_args: { dbkey: "hg38" } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.items.map((i) => [i.name, i.state, i.hid]), [["peaks.bed", "queued", 1], ["dir/blob.bin", "queued", 2]]);
      assert.deepEqual((res as { answer?: Item[] }).answer?.map((i) => [i.object, i.state]), [["peaks.bed", "queued"], ["dir/blob.bin", "queued"], ["absent.txt", "error"]], "in request order");
      assert.equal(res.body.failed.length, 1);
      assert.equal(res.body.failed[0]!.object, "absent.txt");
      assert.match(res.body.failed[0]!.error, /does not exist/);
      const jobs = await waitForJobs(sys.url, user.apiKey, res.body.items.map((i) => i.job_id));
      for (const j of jobs) assert.equal(j.state, "ok", JSON.stringify(j.error));
      assert.equal(jobs[0]!.tool_id, "get_from_cloud");
      const items = (await content(user, historyId)).body;
      const byName = new Map(items.map((i) => [i.name as string, i]));
      const b = byName.get("peaks.bed")!;
      assert.equal(b.state, "ok");
      assert.equal(b.extension, "bed");
      assert.equal(b.file_size, bed.length);
      assert.equal(b.genome_build, "hg38");
      const hashes = b.hashes as Array<{ hash_function: string; hash_value: string }>;
      assert.equal(hashes.find((h) => h.hash_function === "SHA-256")?.hash_value, sha256(bed));
      assert.equal(hashes.find((h) => h.hash_function === "MD5")?.hash_value, md5(bed));
      assert.deepEqual(await display(user, b.id as string), bed);
      const blob = byName.get("dir/blob.bin")!;
      assert.equal(blob.state, "ok");
      assert.equal(sha256(await display(user, blob.id as string)), sha256(bin));
    });
  }

  test("space_to_tab and to_posix_lines (Galaxy's strings) are applied while streaming; file_type forces the datatype", async () => {
    const bucket = await s3Bucket("xform");
    await put("s3", bucket, "table.txt", Buffer.from("a  b\r\nc d\re"));
    const historyId = await newHistory(user, "transforms");
    const res = await get(user, { history_id: historyId, authz_id: authz.s3, bucket, objects: ["table.txt"], input_args: { space_to_tab: "true", to_posix_lines: true, file_type: "tabular" } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [job] = await waitForJobs(sys.url, user.apiKey, [res.body.items[0]!.job_id]);
    assert.equal(job!.state, "ok", JSON.stringify(job!.error));
    // The job counts the object's 11 bytes (done = total: 100 %), the dataset holds the 10 converted ones.
    assert.equal(job!.bytes_total, 11);
    assert.equal(job!.bytes_done, 11);
    const item = (await content(user, historyId)).body[0]!;
    assert.equal(item.extension, "tabular");
    assert.equal((await display(user, item.id as string)).toString(), "a\tb\nc\td\ne\n");
    assert.equal(item.file_size ?? (await api<Obj>(user, `/api/datasets/${item.id as string}`)).body.file_size, 10);
  });

  test("bytes that do not match the sha256 skyferry wrote fail the job and the item, with nothing stored; a retry after the fix is ok", async () => {
    const bucket = await s3Bucket("integrity");
    const body = Buffer.from("the real bytes\n");
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "x.txt", Body: body, Metadata: { sha256: "0".repeat(64) } }));
    const historyId = await newHistory(user, "integrity");
    const res = await get(user, { history_id: historyId, authz_id: authz.s3, bucket, objects: ["x.txt"] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const jobId = res.body.items[0]!.job_id;
    const [job] = await waitForJobs(sys.url, user.apiKey, [jobId]);
    assert.equal(job!.state, "error");
    assert.equal(job!.error?.code, "XFER_GET_INTEGRITY");
    let item = (await api<Obj>(user, `/api/datasets/${res.body.items[0]!.id}`)).body;
    for (let i = 0; i < 50 && item.state !== "error"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      item = (await api<Obj>(user, `/api/datasets/${res.body.items[0]!.id}`)).body;
    }
    assert.equal(item.state, "error");
    assert.match(String(item.misc_info), /sha256/);
    assert.equal((await fetch(`${sys.url}/api/datasets/${item.id as string}/display`, { headers: { "x-api-key": user.apiKey } })).status >= 400, true);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "x.txt", Body: body, Metadata: { sha256: sha256(body) } }));
    const retried = await api<JobView>(user, `/api/jobs/${jobId}/retry`, { method: "POST" });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    const [again] = await waitForJobs(sys.url, user.apiKey, [jobId]);
    assert.equal(again!.state, "ok", JSON.stringify(again!.error));
    const after = (await api<Obj>(user, `/api/datasets/${item.id as string}`)).body;
    assert.equal(after.state, "ok");
    assert.deepEqual(await display(user, item.id as string), body);
  });

  test("cancelling a get ends the job deleted and the item in error (deleted), with no bytes stored", async () => {
    const bucket = await s3Bucket("cancel");
    await put("s3", bucket, "big.bin", randomBytes(64 * 1024 * 1024));
    const historyId = await newHistory(user, "cancel");
    const res = await get(user, { history_id: historyId, authz_id: authz.s3, bucket, objects: ["big.bin"] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { job_id, id } = res.body.items[0]!;
    const cancelled = await api<JobView>(user, `/api/jobs/${job_id}`, { method: "DELETE" });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.state, "deleted");
    let item = (await api<Obj>(user, `/api/datasets/${id}`)).body;
    for (let i = 0; i < 50 && item.state !== "error"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      item = (await api<Obj>(user, `/api/datasets/${id}`)).body;
    }
    assert.equal(item.state, "error");
    assert.equal(item.deleted, true);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await api<JobView>(user, `/api/jobs/${job_id}`)).body.state, "deleted", "a worker that was running it does not revive it");
    assert.equal((await fetch(`${sys.url}/api/datasets/${id}/display`, { headers: { "x-api-key": user.apiKey } })).status >= 400, true);
  });

  test("refusals: another user's history 404, a prefix past the cap 400, invalid flags 400, nothing created", async () => {
    const bucket = await s3Bucket("refuse");
    for (let i = 0; i < 6; i++) await put("s3", bucket, `many/${i}.txt`, Buffer.from(`${i}`));
    await put("s3", bucket, "big/one.bin", randomBytes(1024 * 1024 + 1));
    const mine = await newHistory(user, "refusals");
    const theirs = await newHistory(other, "not yours");
    const foreign = await get(user, { history_id: theirs, authz_id: authz.s3, bucket, objects: ["many/0.txt"] });
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    assert.equal(foreign.body.err_code, 404001);
    const foreignAuthz = await get(other, { history_id: theirs, authz_id: authz.s3, bucket, objects: ["many/0.txt"] });
    assert.equal(foreignAuthz.status, 404, JSON.stringify(foreignAuthz.body));
    const tooMany = await get(user, { history_id: mine, authz_id: authz.s3, bucket, prefix: "many/" });
    assert.equal(tooMany.status, 400, JSON.stringify(tooMany.body));
    assert.equal(tooMany.body.err_code, 400008);
    assert.match(tooMany.body.err_msg!, /prefix/);
    const tooBig = await get(user, { history_id: mine, authz_id: authz.s3, bucket, prefix: "big/" });
    assert.equal(tooBig.status, 400, JSON.stringify(tooBig.body));
    const badFlag = await get(user, { history_id: mine, authz_id: authz.s3, bucket, objects: ["many/0.txt"], input_args: { space_to_tab: "yes" } });
    assert.equal(badFlag.status, 400, JSON.stringify(badFlag.body));
    const noBucket = await get(user, { history_id: mine, authz_id: authz.s3, bucket: bucketName("gone"), objects: ["x"] });
    assert.equal(noBucket.status, 404, JSON.stringify(noBucket.body));
    assert.deepEqual((await content(user, mine)).body, [], "no item was created by a refused get");
  });

  test("s3: a bucket of another radosgw user is refused with 403 and the provider's reason", async () => {
    const conf = resolve(process.env.SKYFERRY_STACK_DIR ?? resolve(repoRoot, ".stack"), "ceph/ceph.conf");
    const uid = `skyferry-get-${randomBytes(4).toString("hex")}`;
    const keys = { access: randomBytes(10).toString("hex").toUpperCase(), secret: randomBytes(20).toString("hex") };
    await run("radosgw-admin", ["-c", conf, "user", "create", `--uid=${uid}`, "--display-name=get test", `--access-key=${keys.access}`, `--secret-key=${keys.secret}`], { timeout: 60_000 });
    const stranger = new S3Client({ endpoint: stack.s3.endpoint, region: stack.s3.region, forcePathStyle: true, credentials: { accessKeyId: keys.access, secretAccessKey: keys.secret } });
    const bucket = bucketName("private");
    try {
      await createS3Bucket(stranger, bucket);
      await stranger.send(new PutObjectCommand({ Bucket: bucket, Key: "secret.txt", Body: "no" }));
      const historyId = await newHistory(user, "denied");
      const res = await get(user, { history_id: historyId, authz_id: authz.s3, bucket, objects: ["secret.txt"] });
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.err_code, 403002);
      assert.match(res.body.err_msg!, /AccessDenied|denied/i);
      const list = await api<ListRes>(user, `/api/cloud/storage/objects?authz_id=${authz.s3}&bucket=${bucket}`);
      assert.equal(list.status, 403, JSON.stringify(list.body));
      assert.deepEqual((await content(user, historyId)).body, []);
    } finally {
      await removeS3Buckets(stranger, [bucket]);
      stranger.destroy();
      await run("radosgw-admin", ["-c", conf, "user", "rm", `--uid=${uid}`, "--purge-data"], { timeout: 60_000 }).catch(() => undefined);
    }
  });

  for (const provider of ["s3", "azure"] as const) {
    test(`${provider}: round trip: upload -> send -> get back into a new history -> same bytes and sha256`, async () => {
      const files = [
        { name: "rep1.bed", content: Buffer.from("chr2\t5\t50\tx\n".repeat(500)) },
        { name: "reads.bin", content: randomBytes(3 * 1024 * 1024 + 11) },
      ];
      const source = await newHistory(user, `source ${provider}`);
      const up = await uploadMultipart(sys.url, user.apiKey, source, files);
      assert.equal(up.status, 200, JSON.stringify(up.body));
      for (let i = 0; i < 100 && (await content(user, source)).body.some((d) => d.state !== "ok"); i++) await new Promise((r) => setTimeout(r, 100));
      const bucket = provider === "s3" ? await s3Bucket("trip") : await azureContainer("trip");
      const sent = await api<{ sent: Array<{ job_id: string; object: string }> }>(user, "/api/cloud/storage/send", { method: "POST", body: { history_id: source, authz_id: authz[provider], bucket } });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const sendJobs: JobView[] = await waitForJobs(sys.url, user.apiKey, sent.body.sent.map((s) => s.job_id));
      for (const j of sendJobs) assert.equal(j.state, "ok", JSON.stringify(j.error));
      const target = await newHistory(user, `target ${provider}`);
      const got = await get(user, { history_id: target, authz_id: authz[provider], bucket, objects: sendJobs.map((j) => j.object_key) });
      assert.equal(got.status, 200, JSON.stringify(got.body));
      const getJobs = await waitForJobs(sys.url, user.apiKey, got.body.items.map((i) => i.job_id));
      for (const j of getJobs) assert.equal(j.state, "ok", JSON.stringify(j.error));
      const items = (await content(user, target)).body;
      for (const f of files) {
        const item = items.find((i) => i.name === f.name);
        assert.ok(item, `${f.name} is in the new history`);
        assert.equal(item.state, "ok");
        const hashes = item.hashes as Array<{ hash_function: string; hash_value: string }>;
        assert.equal(hashes.find((h) => h.hash_function === "SHA-256")?.hash_value, sha256(f.content));
        assert.equal(sha256(await display(user, item.id as string)), sha256(f.content));
      }
    });
  }
});
