import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSystem, type System } from "../support/system.ts";

// The gateway's /readyz depends on the gateway's own dependency (its NATS connection) only: the
// other services have probes of their own, and one unready transfer pod must not take the API and
// the console out of rotation. /api/status still reports every service.

describe("gateway readiness on its own dependencies only", () => {
  let sys: System;
  before(async () => {
    // Only the gateway runs: no authz, history or transfer service answers on this namespace.
    sys = await startSystem({ label: "gateway-ready", services: ["gateway"], env: { gateway: { SKYFERRY_RPC_TIMEOUT_MS: "1000" } } });
  });
  after(async () => {
    await sys?.close();
  });

  test("/readyz is 200 with only the NATS check while no other service runs", async () => {
    const res = await fetch(`${sys.url}/readyz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; service: string; checks: Record<string, boolean> };
    assert.equal(body.status, "ready");
    assert.equal(body.service, "gateway");
    assert.deepEqual(body.checks, { nats: true });
    assert.equal((await fetch(`${sys.url}/healthz`)).status, 200);
  });

  test("/api/status still reports the missing services as not ok", async () => {
    const res = await fetch(`${sys.url}/api/status`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { gateway: string; services: Record<string, { ok: boolean; error?: string }> };
    assert.equal(body.gateway, "ok");
    assert.deepEqual(Object.keys(body.services).sort(), ["authz", "history", "transfer"]);
    for (const [name, s] of Object.entries(body.services)) assert.equal(s.ok, false, `${name} is reported unreachable`);
  });
});
