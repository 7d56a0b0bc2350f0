import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSystem, type System } from "../support/system.ts";

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, { type: string; in: string; name: string }>; schemas: Record<string, unknown> };
}

describe("the published OpenAPI description", () => {
  let sys: System;
  before(async () => {
    sys = await startSystem({ label: "openapi", services: ["gateway"] });
  });
  after(async () => {
    await sys?.close();
  });

  test("/openapi.json is OpenAPI 3 with the three ways to authenticate and Galaxy's error body", async () => {
    const res = await fetch(`${sys.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as OpenApiDoc;
    assert.match(doc.openapi, /^3\./);
    const schemes = Object.values(doc.components.securitySchemes).map((s) => `${s.in}:${s.name}`).sort();
    assert.deepEqual(schemes, ["cookie:skyferry_session", "header:x-api-key", "query:key"]);
    assert.ok(doc.components.schemas.GalaxyError);
    for (const path of ["/api/status", "/api/users/current", "/api/cloud/storage/send", "/api/jobs/{id}"]) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
  });

  test("Swagger UI is served locally at /api/docs", async () => {
    const res = await fetch(`${sys.url}/api/docs/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    assert.doesNotMatch(await res.text(), /https?:\/\/(cdn|unpkg)/);
  });
});
