import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createBus } from "@skyferry/bus";
import { SystemPing } from "@skyferry/contracts";
import { createLogger } from "@skyferry/logger";
import { testBusOptions } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

describe("foundation: four services over NATS behind the gateway", () => {
  let sys: System;
  before(async () => {
    sys = await startSystem({ label: "foundation" });
  });
  after(async () => {
    await sys?.close();
  });

  test("a request through the gateway reaches every service over NATS and back", async () => {
    const res = await fetch(`${sys.url}/api/status?echo=hello`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { gateway: string; services: Record<string, { ok: boolean; instance?: string }> };
    assert.equal(body.gateway, "ok");
    assert.deepEqual(Object.keys(body.services).sort(), ["authz", "history", "transfer"]);
    for (const [name, s] of Object.entries(body.services)) {
      assert.equal(s.ok, true, `${name} answered`);
      assert.match(s.instance ?? "", new RegExp(`^${name}-`));
    }
  });

  test("every service is alive and ready (NATS connected, MongoDB reachable)", async () => {
    const gw = await fetch(`${sys.url}/readyz`);
    assert.equal(gw.status, 200);
    for (const name of ["authz", "history", "transfer"] as const) {
      const app = sys.services[name]!.app;
      const live = await app.inject({ method: "GET", url: "/healthz" });
      assert.equal(live.statusCode, 200);
      const ready = await app.inject({ method: "GET", url: "/readyz" });
      assert.equal(ready.statusCode, 200, ready.body);
      const checks = ready.json().checks as Record<string, boolean>;
      assert.equal(checks.nats, true);
      assert.equal(checks.mongodb, true);
    }
  });

  test("bad input gets Galaxy's error body with a 4xx, never a 500", async () => {
    const bad = await fetch(`${sys.url}/api/status?echo=${"x".repeat(300)}`);
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { err_msg: string; err_code: number; field: string };
    assert.equal(body.err_code, 400008);
    assert.equal(body.field, "echo");
    // Unknown query parameters on a GET are ignored, as Galaxy ignores them (its clients send some).
    const unknownParam = await fetch(`${sys.url}/api/status?nope=1`);
    assert.equal(unknownParam.status, 200);
    const missing = await fetch(`${sys.url}/api/nothing-here`);
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys((await missing.json()) as object).sort(), ["code", "err_code", "err_msg", "request_id"]);
  });

  test("two instances of one service share its requests", async () => {
    const logger = createLogger({ name: "t", level: "silent" });
    const extra = await startSystem({
      label: "foundation-extra",
      services: ["history"],
      env: { all: { SKYFERRY_NAMESPACE: sys.namespace, MONGO_DB: sys.db } },
    });
    const client = await createBus({ ...testBusOptions(), namespace: sys.namespace, service: "probe", logger });
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add((await client.request(SystemPing.history, { echo: String(i) })).instance);
      assert.equal(seen.size, 2, `both history instances answered: ${[...seen].join(", ")}`);
    } finally {
      await client.drain();
      await extra.close();
    }
  });
});
