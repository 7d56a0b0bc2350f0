import assert from "node:assert/strict";
import { test } from "node:test";
import { awaitStreams, PROVISION_COMMAND } from "../src/streams/index.ts";

const recorder = () => {
  const lines: Array<{ level: "error" | "info"; obj: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    logger: {
      error: (obj: Record<string, unknown>, msg: string) => lines.push({ level: "error", obj, msg }),
      info: (obj: Record<string, unknown>, msg: string) => lines.push({ level: "info", obj, msg }),
    } as never,
  };
};
const until = async (cond: () => boolean, ms = 2000) => {
  for (const end = Date.now() + ms; !cond() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  return cond();
};

test("streams present at start: the workers start before the service listens, ready at once", async () => {
  const { logger, lines } = recorder();
  let started = 0;
  const gate = await awaitStreams({ missing: async () => [], onPresent: async () => void started++, logger, retryMs: 10 });
  assert.equal(started, 1);
  assert.equal(gate.ready, true);
  assert.deepEqual(lines, []);
  await gate.close();
});

test("streams missing: not ready, an error naming what is missing and the provisioning command, checked again until they appear; the workers then start once", async () => {
  const { logger, lines } = recorder();
  let missing = ["stream T_X_TRANSFER_JOBS", "consumer T_X_TRANSFER_JOBS/transfer-workers"];
  let checks = 0;
  let started = 0;
  const gate = await awaitStreams({ missing: async () => (checks++, missing), onPresent: async () => void started++, logger, retryMs: 10 });
  assert.equal(gate.ready, false);
  assert.equal(started, 0);
  const [first] = lines;
  assert.equal(first?.level, "error");
  assert.deepEqual(first?.obj.missing, missing);
  assert.equal(first?.obj.provision_command, PROVISION_COMMAND);
  assert.match(first!.msg, /T_X_TRANSFER_JOBS/);
  assert.ok(await until(() => checks >= 3), "checked again");
  assert.equal(lines.filter((l) => l.level === "error").length, 1, "said once, not at every retry");
  missing = [];
  assert.ok(await until(() => gate.ready), "ready once provisioned");
  assert.equal(started, 1);
  const after = checks;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(checks, after, "no more checks once ready");
  await gate.close();
});

test("a check that fails (NATS refuses, say) is not ready and retried, not a crash; close stops the retries", async () => {
  const { logger, lines } = recorder();
  let checks = 0;
  const gate = await awaitStreams({ missing: async () => (checks++, Promise.reject(new Error("permissions"))), onPresent: async () => undefined, logger, retryMs: 10 });
  assert.equal(gate.ready, false);
  assert.ok(await until(() => checks >= 2));
  assert.equal(lines[0]?.level, "error");
  await gate.close();
  const at = checks;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(checks, at, "no check after close");
});

test("workers that fail to start on a later check are tried again at the next one", async () => {
  const { logger } = recorder();
  let missing = ["stream S"];
  let attempts = 0;
  const gate = await awaitStreams({
    missing: async () => missing,
    onPresent: async () => {
      attempts++;
      if (attempts === 1) throw new Error("consumer went away");
    },
    logger,
    retryMs: 10,
  });
  missing = [];
  assert.ok(await until(() => gate.ready));
  assert.equal(attempts, 2);
  await gate.close();
});
