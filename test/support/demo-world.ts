// A world to try the command line against by hand (and how the README's "Command line" session
// was recorded): the four services on the stack, a signed-in user with an API key, a fresh S3
// bucket and Azure container. Prints what to export, then waits until Ctrl-C.
//   source .stack/env && cd test && node --import tsx support/demo-world.ts
import { randomBytes } from "node:crypto";
import { createAzureContainer, createS3Bucket, independentAzure, independentS3, removeS3Buckets } from "./send.ts";
import { startSendWorld } from "./send-system.ts";

const world = await startSendWorld({ label: "demo" });
const user = await world.user();
const bucket = `demo-${randomBytes(3).toString("hex")}`;
await createS3Bucket(independentS3(), bucket);
await createAzureContainer(independentAzure(), bucket);
console.log(`SKYFERRY_DEMO_URL=${world.sys.url}\nSKYFERRY_DEMO_KEY=${user.apiKey}\nSKYFERRY_DEMO_BUCKET=${bucket}`);
const stop = async () => {
  await removeS3Buckets(independentS3(), [bucket]).catch(() => undefined);
  await independentAzure().getContainerClient(bucket).deleteIfExists().catch(() => undefined);
  await world.close();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
