import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { call } from "../support/history.ts";
import { createAzureContainer, createS3Bucket, independentAzure, independentS3, removeS3Buckets, waitForJobs } from "../support/send.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

// Get from cloud of large objects read as parallel ranged GETs (TRANSFER_GET_RANGE_CONCURRENCY > 1),
// through the real services against radosgw and Azurite: the ranges land in order, whole, checked
// against the provider's MD5 and skyferry's sha256 metadata.

type Obj = Record<string, unknown>;
interface Item { id: string; job_id: string; name: string }
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");
const MiB = 1024 * 1024;

describe("get from cloud: large objects read in parallel ranges", () => {
  let oidc: MockOidc;
  let sys: System;
  let user: SignedIn;
  const stack = stackEnv();
  const s3 = independentS3();
  const azure = independentAzure();
  const s3Buckets: string[] = [];
  const containers: string[] = [];
  const authz: Record<"s3" | "azure", string> = { s3: "", azure: "" };
  const api = <T = Obj>(path: string, init?: { method?: string; body?: unknown }) => call<T>(sys.url, user.apiKey, path, init);

  before(async () => {
    oidc = await startOidcProvider();
    // 1 MiB ranges, 4 at once: a 5 MiB object is large (more than two ranges) and read as 6 ranges.
    sys = await startSystem({ label: "get-ranged", env: { authz: oidcEnv(oidc), transfer: { TRANSFER_GET_RANGE_MB: "1", TRANSFER_GET_RANGE_CONCURRENCY: "4" } } });
    user = await signIn(sys);
    const s3Authz = await api<{ id: string }>("/api/cloud/authz", {
      method: "POST",
      body: { provider: "s3", config: { endpoint: stack.s3.endpoint, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, region: stack.s3.region, force_path_style: true } },
    });
    assert.equal(s3Authz.status, 200, JSON.stringify(s3Authz.body));
    authz.s3 = s3Authz.body.id;
    const azAuthz = await api<{ id: string }>("/api/cloud/authz", {
      method: "POST",
      body: { provider: "azure", config: { storage_account: stack.azure.account, endpoint: stack.azure.endpoint, account_key: stack.azure.key } },
    });
    assert.equal(azAuthz.status, 200, JSON.stringify(azAuthz.body));
    authz.azure = azAuthz.body.id;
  });
  after(async () => {
    await removeS3Buckets(s3, s3Buckets);
    for (const c of containers) await azure.getContainerClient(c).deleteIfExists().catch(() => undefined);
    await sys?.close();
    await oidc?.close();
  });

  const bucketFor = async (provider: "s3" | "azure") => {
    const name = `ranged-${randomBytes(4).toString("hex")}`;
    if (provider === "s3") {
      await createS3Bucket(s3, name);
      s3Buckets.push(name);
    } else {
      await createAzureContainer(azure, name);
      containers.push(name);
    }
    return name;
  };
  const put = async (provider: "s3" | "azure", bucket: string, key: string, body: Buffer, metadata: Record<string, string> = {}) => {
    if (provider === "s3") await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
    else await azure.getContainerClient(bucket).getBlockBlobClient(key).upload(body, body.length, { metadata });
  };

  for (const provider of ["s3", "azure"] as const) {
    test(`${provider}: a 5 MiB object read in 1 MiB ranges becomes an ok dataset with its bytes and digests; a sha256 mismatch fails it`, async () => {
      const bucket = await bucketFor(provider);
      const data = randomBytes(5 * MiB + 77);
      const bad = randomBytes(3 * MiB);
      await put(provider, bucket, "big.bin", data, { sha256: sha256(data) });
      await put(provider, bucket, "bad.bin", bad, { sha256: "0".repeat(64) });
      const historyId = (await api<{ id: string }>("/api/histories", { method: "POST", body: { name: `ranged ${provider}` } })).body.id;
      const res = await api<Item[]>("/api/cloud/storage/get", { method: "POST", body: { history_id: historyId, authz_id: authz[provider], bucket, objects: ["big.bin", "bad.bin"] } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [good, wrong] = await waitForJobs(sys.url, user.apiKey, res.body.map((i) => i.job_id));
      assert.equal(good!.state, "ok", JSON.stringify(good!.error));
      assert.equal(good!.attempts, 1);
      assert.equal(good!.checksum.sha256, sha256(data));
      assert.equal(wrong!.state, "error");
      assert.equal(wrong!.error?.code, "XFER_GET_INTEGRITY");
      const logged = sys.logs.lines.find((l) => l.includes(`"job_id":"${good!.id}"`) && l.includes('"msg":"get ok"'));
      assert.match(logged ?? "", /"ranges":4/, "the download went in 4 parallel ranges");
      const item = (await api<Obj & { hashes: Array<{ hash_function: string; hash_value: string }> }>(`/api/datasets/${res.body[0]!.id}`)).body;
      assert.equal(item.state, "ok");
      assert.equal(item.file_size, data.length);
      assert.equal(item.hashes.find((h) => h.hash_function === "SHA-256")?.hash_value, sha256(data));
      assert.equal(item.hashes.find((h) => h.hash_function === "MD5")?.hash_value, md5(data));
      const shown = Buffer.from(await (await fetch(`${sys.url}/api/datasets/${item.id as string}/display`, { headers: { "x-api-key": user.apiKey } })).arrayBuffer());
      assert.ok(shown.equals(data), "the stored bytes are the object's, in order");
    });
  }
});
