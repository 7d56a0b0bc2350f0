// Child process of bearer.test.ts: it must start with NODE_EXTRA_CA_CERTS naming the stack's test CA
// (the HTTPS Azurite's self-signed certificate), which Node only reads at start-up.
// Uploads through a bearer-token store whose tokens live `lifetimeMs`, then prints a JSON result.
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { readAll, sha256Hex, slowBody, stackVar, testBytes, uniqueBucket } from "@skyferry/storage/contract-suite";
import { createAzureStore } from "../src/index.ts";

const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString("base64url");
const TENANT = "00000000-0000-0000-0000-000000000000";

/** An Entra-ID-shaped token; Azurite (`--oauth basic`) checks issuer, audience and times, not the signature. */
function mintToken(lifetimeMs: number): { token: string; expiresAt: number } {
  const now = Math.floor(Date.now() / 1000);
  const exp = Math.floor((Date.now() + lifetimeMs) / 1000);
  const claims = { iss: `https://sts.windows.net/${TENANT}/`, aud: "https://storage.azure.com", iat: now - 60, nbf: now - 60, exp, oid: "skyferry-test", tid: TENANT };
  return { token: `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.c2lnbmF0dXJl`, expiresAt: exp * 1000 };
}

const lifetimeMs = Number(process.argv[2] ?? 3000);
const endpoint = stackVar("AZURE_OAUTH_BLOB_ENDPOINT");
const admin = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(stackVar("AZURE_STORAGE_ACCOUNT"), stackVar("AZURE_STORAGE_KEY")));
const bucket = uniqueBucket("sf-bearer");
await admin.getContainerClient(bucket).create();
let calls = 0;
const store = createAzureStore({
  accountUrl: endpoint,
  auth: { kind: "bearer", token: async () => (calls++, mintToken(lifetimeMs)) },
  maxTries: 1,
});
const expired = createAzureStore({ accountUrl: endpoint, auth: { kind: "bearer", token: async () => mintToken(-60_000) }, maxTries: 1 });
try {
  const P = 1024 * 1024;
  const data = testBytes(5 * P + 3);
  const started = Date.now();
  await store.put({ bucket, key: "bearer.bin", body: slowBody(data, P, 900), size: data.length, sha256: sha256Hex(data), partSize: P, concurrency: 1 });
  const elapsedMs = Date.now() - started;
  const equal = (await readAll((await store.get(bucket, "bearer.bin")).body)).equals(data);
  const refused = await expired.head(bucket, "bearer.bin").then(
    () => "accepted",
    (e: { storageCode?: string }) => e.storageCode ?? "unknown",
  );
  console.log(JSON.stringify({ elapsedMs, calls, equal, expiredToken: refused }));
} finally {
  await admin.getContainerClient(bucket).deleteIfExists();
}
