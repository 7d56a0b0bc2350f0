import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { loadConfig } from "@skyferry/config";
import { gatewayApp } from "@skyferry/gateway/app";
import { GatewayConfig } from "@skyferry/gateway/config";
import { type BuiltService, buildService } from "@skyferry/service-kit";
import type { RouteOptions } from "fastify";
import { natsEnv } from "../support/stack-env.ts";
import { isolation, LogCapture } from "../support/system.ts";

interface Operation {
  security?: unknown[];
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; in: string; name: string }>; schemas: Record<string, unknown> };
}

/** Registered routes that are deliberately not in the API description, each with its reason. */
const NOT_PUBLIC_API: Array<{ match: (url: string) => boolean; reason: string }> = [
  { match: (u) => u === "/healthz" || u === "/readyz", reason: "liveness/readiness probes for the orchestrator, not the API" },
  { match: (u) => u === "/api/docs" || u.startsWith("/api/docs/"), reason: "Swagger UI's page and static assets" },
  { match: (u) => u === "/openapi.json" || u === "/asyncapi.json", reason: "the API descriptions themselves" },
  { match: (u) => u === "/" || u === "/*", reason: "the web console's page and static assets (plugins/console.ts)" },
  { match: (u) => u.startsWith("/api/upload/resumable_upload"), reason: "the tus protocol (headers and raw bytes, @tus/server), not a JSON API" },
];

/**
 * Operations whose success body has no schema yet (streams, redirects, a bare JSON string). They
 * are listed so each one is a visible, known gap: a new route without a response schema fails
 * this test, and so does a listed route once it gains one (then remove it from here).
 */
const SUCCESS_BODY_UNDESCRIBED = new Set([
  "get /authnz/{provider}/callback", // 302 to the console
  "get /authnz/{provider}/disconnect/{email}", // 302 to the console
  "get /authnz/logout",
  "post /api/users/{id}/api_key",
  "delete /api/users/{id}/api_key", // answers 204, but declares no response
  "get /api/datasets/{id}/display", // the dataset's bytes
  "get /api/jobs/{id}/events", // text/event-stream
  "post /api/histories/{id}/contents", // proxied multipart upload
  "get /api/histories/{id}/contents/{item_id}/display", // the dataset's bytes (Galaxy's download_url)
]);

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

describe("the published OpenAPI description", () => {
  let gateway: BuiltService<unknown>;
  const routes: RouteOptions[] = [];
  let doc: OpenApiDoc;

  before(async () => {
    const { namespace } = isolation("openapi");
    const config = loadConfig(GatewayConfig, { ...natsEnv("gateway"), SKYFERRY_NAMESPACE: namespace, PORT: "0" });
    // The gateway as production builds it, with an onRoute hook in front that sees every route it registers.
    gateway = (await buildService({
      name: "gateway",
      config,
      useMongo: false,
      logger: new LogCapture().logger("gateway"),
      plugin: async (app, deps) => {
        app.addHook("onRoute", (route) => void routes.push(route));
        await gatewayApp(app, deps);
      },
    })) as BuiltService<unknown>;
    const res = await gateway.app.inject({ url: "/openapi.json" });
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(async () => {
    await gateway?.close();
  });

  test("/openapi.json is a valid OpenAPI 3 document (@apidevtools/swagger-parser)", async () => {
    assert.match(doc.openapi, /^3\./);
    const validated = await SwaggerParser.validate(structuredClone(doc) as unknown as Parameters<typeof SwaggerParser.validate>[0]);
    assert.ok("openapi" in validated && Object.keys(validated.paths ?? {}).length > 10);
  });

  test("the three ways to authenticate and Galaxy's error body are components", () => {
    const schemes = Object.values(doc.components.securitySchemes).map((s) => `${s.in}:${s.name}`).sort();
    assert.deepEqual(schemes, ["cookie:skyferry_session", "header:x-api-key", "query:key"]);
    assert.ok(doc.components.schemas.GalaxyError);
  });

  test("every registered public route is documented with its method, request and response schemas, and errors", () => {
    const publicRoutes = routes.filter((r) => [r.method].flat().some((m) => m !== "HEAD") && !NOT_PUBLIC_API.some((x) => x.match(r.url)));
    assert.ok(publicRoutes.length >= 20, `found ${publicRoutes.length} routes`);
    const undescribed: string[] = [];
    for (const route of publicRoutes) {
      for (const method of [route.method].flat().filter((m) => m !== "HEAD")) {
        const name = `${method.toLowerCase()} ${toOpenApiPath(route.url)}`;
        const op = doc.paths[toOpenApiPath(route.url)]?.[method.toLowerCase()];
        assert.ok(op, `${name} is in the document (a route with schema.hide must be listed in NOT_PUBLIC_API)`);
        const schema = (route.schema ?? {}) as { body?: unknown; response?: Record<string, unknown> };
        if (schema.body) assert.ok(Object.values(op.requestBody?.content ?? {}).some((c) => c.schema), `${name}: request body schema`);
        const success = Object.entries(op.responses).filter(([status]) => /^[23]/.test(status));
        assert.ok(success.length > 0, `${name}: a success response`);
        const described = success.some(([status, r]) => status === "204" || status.startsWith("3") || Object.values(r.content ?? {}).some((c) => c.schema && Object.keys(c.schema).length > 0));
        if (!described) undescribed.push(name);
        const errors = op.security ? ["400", "401", "403", "404", "429"] : ["400", "404"];
        for (const status of errors) {
          assert.ok(op.responses[status], `${name}: error response ${status}`);
          const body = op.responses[status].content?.["application/json"]?.schema;
          // A route may declare its own error schema; the central default is Galaxy's body.
          assert.ok(body, `${name}: ${status} has a body schema`);
        }
      }
    }
    assert.deepEqual(undescribed.sort(), [...SUCCESS_BODY_UNDESCRIBED].filter((n) => publicRoutes.some((r) => n.endsWith(` ${toOpenApiPath(r.url)}`))).sort(), "operations without a success body schema");
  });

  test("authenticated operations name their security schemes; open ones do not", () => {
    assert.equal(doc.paths["/api/jobs/{id}"]?.get?.security?.length, 3);
    assert.equal(doc.paths["/api/status"]?.get?.security, undefined);
    assert.equal(doc.paths["/api/status"]?.get?.responses["401"], undefined);
    assert.equal(doc.paths["/api/jobs/{id}"]?.get?.responses["404"]?.content?.["application/json"]?.schema?.$ref, "#/components/schemas/GalaxyError");
    const csrfHeader = (op: Operation | undefined) => op?.parameters?.find((p) => p.in === "header" && p.name === "x-csrf-token");
    assert.equal(csrfHeader(doc.paths["/api/jobs/{id}"]?.delete)?.required, false, "writes document the optional x-csrf-token header");
    assert.equal(csrfHeader(doc.paths["/api/jobs/{id}"]?.get), undefined, "reads do not");
  });

  test("each exclusion still matches a registered route (none is stale)", () => {
    for (const x of NOT_PUBLIC_API) assert.ok(routes.some((r) => x.match(r.url)), x.reason);
  });

  test("Swagger UI is served locally at /api/docs", async () => {
    const res = await gateway.app.inject({ url: "/api/docs/" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /text\/html/);
    assert.doesNotMatch(res.body, /https?:\/\/(cdn|unpkg)/);
  });

  test("/asyncapi.json serves the AsyncAPI 3 document of the NATS interface", async () => {
    const res = await gateway.app.inject({ url: "/asyncapi.json" });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ asyncapi: string; channels: Record<string, { address: string | null }> }>();
    assert.match(body.asyncapi, /^3\./);
    assert.equal(body.channels["transfer.send.v1"]?.address, "{namespace}.rpc.transfer.send.v1");
  });
});
