import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TransferJobsStream } from "@skyferry/contracts";
import { createBus, type Bus } from "@skyferry/bus";
import { createLogger } from "@skyferry/logger";
import { testBusOptions } from "../support/stack-env.ts";
import { provisionNamespace, startSystem, type System } from "../support/system.ts";

// The transfer service makes no stream or consumer (docs/trust.md): started on a namespace nobody
// provisioned, it says so and is not ready; once the provisioning has run, it starts its workers.

describe("transfer on a namespace whose streams are not provisioned", () => {
  let sys: System;
  let op: Bus;
  const readyz = async () => {
    const r = await sys.services.transfer!.app.inject({ method: "GET", url: "/readyz" });
    return { status: r.statusCode, body: r.json<{ checks: Record<string, boolean> }>() };
  };

  before(async () => {
    sys = await startSystem({ label: "provisioning", services: ["transfer"], provision: false });
    op = await createBus({ ...testBusOptions(), namespace: sys.namespace, service: "test", logger: createLogger({ name: "test", level: "silent" }) });
  });
  after(async () => {
    await op?.connection.jetstreamManager().then((jsm) => jsm.streams.delete(TransferJobsStream.name(sys.namespace))).catch(() => undefined);
    await op?.drain();
    await sys?.close();
  });

  test("starts without crashing, is not ready (streams), and logs what is missing and the provisioning command", async () => {
    const r = await readyz();
    assert.equal(r.status, 503);
    assert.equal(r.body.checks.streams, false);
    assert.equal(r.body.checks.nats, true);
    assert.equal(await op.hasStream(TransferJobsStream), false, "transfer did not create its stream");
    const line = sys.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => Array.isArray(l.missing));
    assert.ok(line, `no log line names the missing streams: ${sys.logs.text().slice(-2000)}`);
    assert.deepEqual(line.missing, [`stream ${TransferJobsStream.name(sys.namespace)}`, `consumer ${TransferJobsStream.name(sys.namespace)}/transfer-workers`]);
    assert.equal(line.provision_command, "node services/transfer/dist/provision.mjs");
    assert.equal(line.level, 50, "an error");
  });

  test("after the provisioning (as provisioner) it becomes ready within a few seconds and its workers start", async () => {
    await provisionNamespace(sys.namespace, { TRANSFER_ACK_WAIT_SECONDS: 30, TRANSFER_MAX_DELIVER: 10, TRANSFER_STREAM_REPLICAS: 1 });
    const deadline = Date.now() + 10_000;
    let r = await readyz();
    while (r.status !== 200 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      r = await readyz();
    }
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.checks.streams, true);
    assert.ok(sys.logs.lines.some((l) => l.includes("transfer workers started")), "the workers started");
  });

  test("its consumer deleted under it: the consume loop ends, /readyz says consuming false (503); once provisioned again it consumes again and is ready", async () => {
    const jsm = await op.connection.jetstreamManager();
    await jsm.consumers.delete(TransferJobsStream.name(sys.namespace), "transfer-workers");
    const until = async (ok: (r: Awaited<ReturnType<typeof readyz>>) => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      let r = await readyz();
      while (!ok(r) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        r = await readyz();
      }
      assert.ok(ok(r), `${what}: ${JSON.stringify(r.body)}`);
      return r;
    };
    const down = await until((r) => r.status === 503 && r.body.checks.consuming === false, "not ready while nothing is consumed");
    assert.equal(down.body.checks.nats, true);
    assert.ok(sys.logs.lines.some((l) => l.includes("consumer loop ended")), "the end of the loop is logged");
    await provisionNamespace(sys.namespace, { TRANSFER_ACK_WAIT_SECONDS: 30, TRANSFER_MAX_DELIVER: 10, TRANSFER_STREAM_REPLICAS: 1 });
    const up = await until((r) => r.status === 200, "ready again");
    assert.equal(up.body.checks.consuming, true);
    assert.ok(sys.logs.lines.some((l) => l.includes("transfer workers consuming again")), "the supervisor started a new loop");
  });
});
