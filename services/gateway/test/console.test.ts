import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Fastify from "fastify";
import { registerConsole } from "../src/plugins/console.ts";
import { registerErrorHandling } from "../src/plugins/errors.ts";

async function consoleApp(root: string) {
  const app = Fastify();
  registerErrorHandling(app);
  app.get("/api/real", async () => ({ ok: true }));
  await app.register(registerConsole, { root });
  return app;
}

test("without a build, / answers 503 with a page that says how to build the console", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "skyferry-console-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const app = await consoleApp(join(root, "dist"));
  t.after(() => app.close());
  const res = await app.inject({ url: "/" });
  assert.equal(res.statusCode, 503);
  assert.match(res.headers["content-type"] as string, /^text\/html/);
  assert.match(res.body, /npm run build/);
});

test("serves the build: index at / and deep links, hashed assets cached, API paths keep Galaxy's 404", async (t) => {
  const root = mkdtempSync(join(tmpdir(), "skyferry-console-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const app = await consoleApp(root);
  t.after(() => app.close());
  // Built after the gateway started: picked up without a restart.
  mkdirSync(join(root, "assets"));
  writeFileSync(join(root, "index.html"), "<!doctype html><title>console</title>");
  writeFileSync(join(root, "assets", "index-abc123.js"), "console.log(1)");

  const index = await app.inject({ url: "/" });
  assert.equal(index.statusCode, 200);
  assert.equal(index.body, "<!doctype html><title>console</title>");
  assert.equal(index.headers["cache-control"], "no-cache");

  const asset = await app.inject({ url: "/assets/index-abc123.js" });
  assert.equal(asset.statusCode, 200);
  assert.equal(asset.body, "console.log(1)");
  assert.match(asset.headers["cache-control"] as string, /immutable/);

  const deep = await app.inject({ url: "/histories/0123456789abcdef" });
  assert.equal(deep.statusCode, 200);
  assert.equal(deep.body, "<!doctype html><title>console</title>");

  assert.equal((await app.inject({ url: "/api/real" })).json().ok, true);
  for (const url of ["/api/nope", "/authnz/nope/x", "/openapi.json/x"]) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, url);
    assert.equal(res.json().err_code, 404001, url);
  }
  const escape = await app.inject({ url: "/..%2f..%2fetc/passwd" });
  assert.notEqual(escape.body, "", "answers something");
  assert.ok(!escape.body.includes("root:"), "never a file outside the build");
});
