// CPU per one-part PUT: the S3 adapter's direct PUT (the default) beside the same adapter with
// `directPut: false` (every request through @aws-sdk/client-s3), on the stack's radosgw.
// Not a test. Usage (from packages/storage-s3): `npm run bench:put-cpu -- [KiB=100] [puts=1500]`.
// Both put the same in-memory body with declared md5 and sha256, create-only, PUTS_IN_FLIGHT at a
// time, in one process; CPU is this process's (process.cpuUsage), so radosgw's is not counted.
// The first round warms up (connections, JIT); the second is printed.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { testBytes, uniqueBucket } from "@skyferry/storage/contract-suite";
import { createS3Store } from "../src/index.ts";
import { adminClient, createBucket, deleteBucket, rgwOptions } from "../test/support.ts";

const PUTS_IN_FLIGHT = 16;
const size = Number(process.argv[2] ?? 100) * 1024;
const puts = Number(process.argv[3] ?? 1500);
const body = testBytes(size);
const digests = { sha256: createHash("sha256").update(body).digest("hex"), md5: createHash("md5").update(body).digest("hex") };
const admin = adminClient();
const bucket = uniqueBucket("sf-putcpu");
await createBucket(admin, bucket);
try {
  const rows: string[] = [];
  for (const round of [1, 2]) {
    for (const directPut of [true, false]) {
      const store = createS3Store({ ...rgwOptions(), directPut });
      const label = directPut ? "direct PUT" : "SDK PutObject";
      let next = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: PUTS_IN_FLIGHT }, async () => {
          while (next < puts) {
            const key = `${label}/${round}/${next++}`;
            await store.put({ bucket, key, body: Readable.from([body]), size, ...digests, ifNoneMatch: true });
          }
        }),
      );
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      await store.close();
      if (round === 2) rows.push(`${label.padEnd(16)}${(puts / secs).toFixed(0).padStart(8)}${((cpu.user + cpu.system) / 1000 / puts).toFixed(2).padStart(14)}`);
    }
  }
  console.log(`${puts} PUTs of ${size / 1024} KiB, ${PUTS_IN_FLIGHT} in flight, radosgw at ${rgwOptions().endpoint}`);
  console.log(`${"path".padEnd(16)}${"PUT/s".padStart(8)}${"CPU ms/PUT".padStart(14)}`);
  for (const r of rows) console.log(r);
} finally {
  await deleteBucket(admin, bucket);
  admin.destroy();
}
