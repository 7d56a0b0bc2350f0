import { after } from "node:test";
import { runObjectStoreContract } from "@skyferry/storage/contract-suite";
import { createS3Store, type S3Credentials } from "../src/index.ts";
import { adminClient, createBucket, deleteBucket, rgwOptions } from "./support.ts";

const admin = adminClient();
after(() => admin.destroy());

// Twice: one-part objects through the direct PUT (the default), and everything through the SDK.
for (const directPut of [true, false]) {
  runObjectStoreContract(`S3 (Ceph radosgw), ${directPut ? "direct one-part PUT" : "SDK only"}`, () => createS3Store({ ...rgwOptions(), directPut }), {
    partSize: 5 * 1024 * 1024,
    keepsUploads: true,
    createBucket: (name) => createBucket(admin, name),
    deleteBucket: (name) => deleteBucket(admin, name),
    makeStoreWithWrongCredentials: () => {
      const o = rgwOptions();
      const c = o.credentials as S3Credentials;
      return createS3Store({ ...o, directPut, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: `${c.secretAccessKey}x` }, maxAttempts: 1 });
    },
    // radosgw's static keys cannot be made to expire here: the function issues the same keys with a
    // short `expiresAt`, and the test counts how often the adapter renewed them mid-upload.
    makeRenewingStore: (lifetimeMs) => {
      const o = rgwOptions();
      let calls = 0;
      const store = createS3Store({
        ...o,
        directPut,
        credentials: async () => {
          calls += 1;
          return { credentials: o.credentials as S3Credentials, expiresAt: Date.now() + lifetimeMs };
        },
      });
      return { store, refreshes: () => calls };
    },
  });
}
