import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renderDocument, renderTypes } from "@skyferry/client/codegen";
import { loadConfig } from "@skyferry/config";
import { gatewayApp } from "@skyferry/gateway/app";
import { GatewayConfig } from "@skyferry/gateway/config";
import { type BuiltService, buildService } from "@skyferry/service-kit";
import { repoRoot } from "../support/send.ts";
import { natsEnv } from "../support/stack-env.ts";
import { isolation, LogCapture } from "../support/system.ts";

// The SDK (packages/client) is generated from the document the gateway serves. When a route's
// schema changes, this fails until the committed document and types are regenerated; the served
// document is saved under .test-results/ so that is one command (printed on failure).
const client = join(repoRoot, "packages/client");
const saved = join(repoRoot, ".test-results/openapi.json");
const regenerate = `npm run generate -w @skyferry/client -- .test-results/openapi.json`;

describe("the SDK's generated types", () => {
  let gateway: BuiltService<unknown>;
  let served: unknown;
  before(async () => {
    const { namespace } = isolation("client-openapi");
    const config = loadConfig(GatewayConfig, { ...natsEnv("gateway"), SKYFERRY_NAMESPACE: namespace, PORT: "0" });
    gateway = (await buildService({ name: "gateway", config, useMongo: false, logger: new LogCapture().logger("gateway"), plugin: gatewayApp as never })) as BuiltService<unknown>;
    const res = await gateway.app.inject({ url: "/openapi.json" });
    assert.equal(res.statusCode, 200);
    served = res.json();
    mkdirSync(join(repoRoot, ".test-results"), { recursive: true });
    writeFileSync(saved, renderDocument(served));
  });
  after(async () => {
    await gateway?.close();
  });

  test("packages/client/openapi.json is the document the gateway serves", () => {
    const committed = JSON.parse(readFileSync(join(client, "openapi.json"), "utf8")) as unknown;
    assert.deepEqual(committed, served, `the API changed: run \`${regenerate}\` and commit the result`);
  });

  test("packages/client/src/generated/openapi.ts is what openapi-typescript makes of the served document", async () => {
    const committed = readFileSync(join(client, "src/generated/openapi.ts"), "utf8");
    assert.equal(committed, await renderTypes(served), `the generated types are out of date: run \`${regenerate}\` and commit the result`);
  });
});
