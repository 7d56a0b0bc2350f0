// `npm run asyncapi -w @skyferry/contracts`: writes the AsyncAPI document of the NATS interface
// to docs/asyncapi.json (committed; packages/contracts/test/asyncapi.test.ts fails when it is stale).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildAsyncApi } from "./asyncapi.ts";

export const ASYNCAPI_FILE = fileURLToPath(new URL("../../../docs/asyncapi.json", import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(ASYNCAPI_FILE, `${JSON.stringify(buildAsyncApi(), null, 2)}\n`);
  console.log(`wrote ${ASYNCAPI_FILE}`);
}
