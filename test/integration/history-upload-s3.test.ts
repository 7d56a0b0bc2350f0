import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { call, hashResponse, Pattern, uploadMultipart } from "../support/history.ts";
import { createS3Bucket, independentS3, removeS3Buckets, s3MultipartUploads } from "../support/send.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

// The same upload path with the `s3` dataset store on the stack's radosgw: bytes round-trip, and
// an interrupted upload leaves neither an object nor an unfinished multipart upload in the bucket.

type Obj = Record<string, unknown>;

describe("history uploads into the s3 dataset store (radosgw)", () => {
  let oidc: MockOidc;
  let sys: System;
  let user: SignedIn;
  const s3 = independentS3();
  const bucket = `hist-store-${randomBytes(4).toString("hex")}`;
  const api = <T = Obj>(path: string, init?: { method?: string; body?: unknown }) => call<T>(sys.url, user.apiKey, path, init);

  before(async () => {
    const stack = stackEnv();
    await createS3Bucket(s3, bucket);
    oidc = await startOidcProvider();
    const store = {
      DATASET_STORE: "s3", DATASET_STORE_S3_ENDPOINT: stack.s3.endpoint, DATASET_STORE_S3_REGION: stack.s3.region, DATASET_STORE_S3_BUCKET: bucket,
      DATASET_STORE_S3_ACCESS_KEY_ID: stack.s3.accessKeyId, DATASET_STORE_S3_SECRET_ACCESS_KEY: stack.s3.secretAccessKey, DATASET_STORE_S3_FORCE_PATH_STYLE: "true",
      DATASET_STORE_S3_PART_SIZE_MB: "5",
    };
    sys = await startSystem({ label: "history-s3", services: ["authz", "history", "gateway"], env: { authz: oidcEnv(oidc), history: store } });
    user = await signIn(sys);
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
    await removeS3Buckets(s3, [bucket]);
  });

  test("12 MiB (multipart in the store) round-trips byte-identical, with and without Range; the object sits at the dataset's store key", async () => {
    const h = (await api<{ id: string }>("/api/histories", { method: "POST", body: { name: "s3" } })).body;
    const content = new Pattern(12 * 1024 * 1024 + 5);
    const expected = await content.digests();
    const up = await uploadMultipart(sys.url, user.apiKey, h.id, [{ name: "reads.bin", content }]);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const d = up.body.outputs![0]! as Obj & { id: string };
    assert.equal(d.state, "ok");
    const full = await fetch(`${sys.url}/api/datasets/${d.id}/display`, { headers: { "x-api-key": user.apiKey } });
    assert.deepEqual(await hashResponse(full), { size: content.size, ...expected });
    const start = 5 * 1024 * 1024 - 1;
    const part = await fetch(`${sys.url}/api/datasets/${d.id}/display`, { headers: { "x-api-key": user.apiKey, range: `bytes=${start}-${start + 99}` } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(content.slice(start, start + 99)));
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
    assert.deepEqual(keys, [`${d.id.slice(0, 2)}/${d.id.slice(2, 4)}/${d.id}`]);
  });

  test("an interrupted upload leaves an error dataset, no object and no unfinished multipart upload", async () => {
    const h = (await api<{ id: string }>("/api/histories", { method: "POST", body: { name: "s3 interrupted" } })).body;
    const before = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
    const r = await uploadMultipart(sys.url, user.apiKey, h.id, [{ name: "half.bin", content: new Pattern(20 * 1024 * 1024) }], { abortAfterBytes: 12 * 1024 * 1024 });
    assert.equal(r.status, 0);
    let items: Obj[] = [];
    for (let i = 0; i < 150; i++) {
      items = (await api<Obj[]>(`/api/histories/${h.id}/contents?details=all`)).body;
      if (items.length > 0 && items.every((x) => x.state === "error")) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(items.length, 1);
    assert.equal(items[0]!.state, "error");
    const afterKeys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
    assert.deepEqual(afterKeys, before, "no new object");
    let uploads: string[] = [];
    for (let i = 0; i < 50; i++) {
      uploads = await s3MultipartUploads(s3, bucket);
      if (uploads.length === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(uploads, [], "no unfinished multipart upload");
  });
});
