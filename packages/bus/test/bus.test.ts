import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Type } from "@sinclair/typebox";
import { defineEvent, defineRpc, streamToken, type ConsumerSpec, type StreamSpec } from "@skyferry/contracts";
import { SkyferryError } from "@skyferry/errors";
import { createLogger } from "@skyferry/logger";
import type { NatsConnection } from "nats";
import { type Bus, connectNats, createBus, type NatsCredentials } from "../src/index.ts";

// The stack's NATS (source .stack/env): TLS, and this test's own client as the `operator` identity.
const url = process.env.SKYFERRY_NATS_URL ?? "tls://127.0.0.1:4222";
const credentials: NatsCredentials = { nkeySeedFile: process.env.SKYFERRY_NATS_NKEY_SEED_FILE, tlsCaFile: process.env.SKYFERRY_NATS_TLS_CA_FILE };
const connect = () => connectNats({ url, name: "bus-test-raw", identity: "operator", credentials });
const logger = createLogger({ name: "bus-test", level: "silent" });
const ns = () => `t-bus-${randomBytes(4).toString("hex")}`;

const Echo = defineRpc(
  "test.echo",
  1,
  Type.Object({ text: Type.String({ maxLength: 10 }), fail: Type.Optional(Type.String()) }, { additionalProperties: false }),
  Type.Object({ text: Type.String(), by: Type.String() }),
);

const Job = defineEvent(
  "skyferry.test.job.v1",
  Type.Object({ n: Type.Integer(), mode: Type.Union([Type.Literal("ok"), Type.Literal("retry-once"), Type.Literal("hang")]) }),
  (namespace: string, id: string) => `${namespace}.test.jobs.${id}`,
  (namespace) => `${namespace}.test.jobs.>`,
);
const stream: StreamSpec = {
  name: (namespace) => `${streamToken(namespace)}_TEST_JOBS`,
  subjects: (namespace) => [`${namespace}.test.jobs.>`],
  retention: "workqueue",
  duplicateWindowSeconds: 120,
  maxAgeSeconds: 3600,
};
const consumer: ConsumerSpec = { stream, durable: "test-workers", ackWaitSeconds: 1, maxDeliver: 5, backoffSeconds: [] };

describe("bus request/reply", () => {
  let a: Bus;
  let b: Bus;
  let client: Bus;
  let raw: NatsConnection;
  const namespace = ns();
  before(async () => {
    a = await createBus({ url, identity: "operator", credentials, namespace, service: "echo", logger });
    b = await createBus({ url, identity: "operator", credentials, namespace, service: "echo", logger });
    client = await createBus({ url, identity: "operator", credentials, namespace, service: "client", logger });
    raw = await connect();
    for (const [bus, name] of [[a, "a"], [b, "b"]] as const) {
      bus.serve(Echo, async ({ text, fail }) => {
        if (fail === "client") throw new SkyferryError("TEST_REFUSED", "refused on purpose", { status: 409, errCode: 409001, field: "fail" });
        if (fail === "crash") throw new Error("secret internal detail");
        if (fail === "bad-reply") return { text: 42 as unknown as string, by: name };
        return { text, by: name };
      });
    }
    await a.connection.flush();
    await b.connection.flush();
  });
  after(async () => {
    await Promise.all([a.drain(), b.drain(), client.drain(), raw.drain()]);
  });

  test("a request is answered and both instances of a queue group share requests", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await client.request(Echo, { text: `m${i}` });
      assert.equal(res.text, `m${i}`);
      seen.add(res.by);
    }
    assert.deepEqual([...seen].sort(), ["a", "b"]);
  });

  test("`observe` is told each request's subject (with the namespace), outcome and duration: ok, or the error's code", async () => {
    const seen: Array<{ subject: string; outcome: string; seconds: number }> = [];
    const observed = await createBus({ url, identity: "operator", credentials, namespace, service: "observed", logger, observe: { request: (subject, outcome, seconds) => seen.push({ subject, outcome, seconds }) } });
    try {
      await observed.request(Echo, { text: "hi" });
      await assert.rejects(observed.request(Echo, { text: "x", fail: "client" }));
      await assert.rejects(observed.request(Echo, { text: "far too long for ten" }));
      assert.deepEqual(seen.map((s) => [s.subject, s.outcome]), [
        [Echo.subject(namespace), "ok"],
        [Echo.subject(namespace), "TEST_REFUSED"],
        [Echo.subject(namespace), "BUS_MESSAGE_INVALID"],
      ]);
      for (const s of seen) assert.ok(s.seconds >= 0 && s.seconds < 10, `a duration in seconds: ${s.seconds}`);
    } finally {
      await observed.drain();
    }
  });

  test("an invalid request is refused before it is sent, naming the field", async () => {
    await assert.rejects(client.request(Echo, { text: "far too long for ten" }), (err: SkyferryError) => {
      assert.equal(err.code, "BUS_MESSAGE_INVALID");
      assert.equal(err.field, "text");
      return true;
    });
  });

  test("an invalid message sent raw gets an error reply naming the bad field", async () => {
    const bad = { type: Echo.requestType, id: "x1", time: new Date().toISOString(), data: { text: 7 } };
    const reply = await raw.request(Echo.subject(namespace), new TextEncoder().encode(JSON.stringify(bad)), { timeout: 2000 });
    const body = JSON.parse(new TextDecoder().decode(reply.data));
    assert.equal(body.ok, false);
    assert.equal(body.error.code, "BUS_MESSAGE_INVALID");
    assert.equal(body.error.field, "text");
    assert.equal(body.error.status, 400);
    const notJson = await raw.request(Echo.subject(namespace), new TextEncoder().encode("{nope"), { timeout: 2000 });
    assert.equal(JSON.parse(new TextDecoder().decode(notJson.data)).error.code, "BUS_MESSAGE_INVALID");
  });

  test("coded errors cross the bus with their status and field; unexpected ones are hidden", async () => {
    await assert.rejects(client.request(Echo, { text: "x", fail: "client" }), (err: SkyferryError) => {
      assert.equal(err.code, "TEST_REFUSED");
      assert.equal(err.status, 409);
      assert.equal(err.field, "fail");
      return true;
    });
    await assert.rejects(client.request(Echo, { text: "x", fail: "crash" }), (err: SkyferryError) => {
      assert.equal(err.code, "INTERNAL");
      assert.equal(err.status, 500);
      assert.doesNotMatch(err.message, /secret internal detail/);
      return true;
    });
  });

  test("a reply that breaks its schema is rejected by the server side", async () => {
    await assert.rejects(client.request(Echo, { text: "x", fail: "bad-reply" }), (err: SkyferryError) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, "BUS_MESSAGE_INVALID");
      return true;
    });
  });

  test("no responders and time-outs are retryable 503s", async () => {
    const other = await createBus({ url, identity: "operator", credentials, namespace: ns(), service: "client", logger });
    try {
      await assert.rejects(other.request(Echo, { text: "x" }, { timeoutMs: 500 }), (err: SkyferryError) => {
        assert.equal(err.code, "BUS_NO_RESPONDERS");
        assert.equal(err.status, 503);
        assert.equal(err.retryable, true);
        return true;
      });
    } finally {
      await other.drain();
    }
  });
});

const Pages = defineRpc(
  "test.pages",
  1,
  Type.Object({ pages: Type.Integer({ minimum: 0 }), size: Type.Integer({ minimum: 0 }), then: Type.Optional(Type.String()) }, { additionalProperties: false }),
  Type.Object({ n: Type.Integer(), fill: Type.String() }),
  { replies: "many" },
);

const Big = defineRpc("test.big", 1, Type.Object({ size: Type.Integer({ minimum: 0 }) }), Type.Object({ fill: Type.String() }));

describe("bus request/replies (replies: many)", () => {
  let server: Bus;
  let client: Bus;
  const namespace = ns();
  let releaseHang: () => void = () => undefined;
  before(async () => {
    server = await createBus({ url, identity: "operator", credentials, namespace, service: "pages", logger });
    client = await createBus({ url, identity: "operator", credentials, namespace, service: "client", logger });
    server.serveMany(Pages, async function* ({ pages, size, then }) {
      for (let n = 0; n < pages; n++) yield { n, fill: "x".repeat(size) };
      if (then === "refuse") throw new SkyferryError("TEST_REFUSED", "refused after the pages", { status: 409, errCode: 409001 });
      if (then === "bad-page") yield { n: "not a number" as unknown as number, fill: "" };
      if (then === "hang") await new Promise<void>((r) => (releaseHang = r));
    });
    await server.connection.flush();
  });
  after(async () => {
    releaseHang();
    await Promise.all([server.drain(), client.drain()]);
  });
  const collect = async (req: { pages: number; size: number; then?: string }, timeoutMs?: number) => {
    const got: number[] = [];
    try {
      for await (const page of client.requestMany(Pages, req, { timeoutMs })) got.push(page.n);
      return { got };
    } catch (err) {
      return { got, err: err as SkyferryError };
    }
  };

  test("every page arrives, in order, and the series ends", async () => {
    assert.deepEqual(await collect({ pages: 5, size: 10 }), { got: [0, 1, 2, 3, 4] });
    assert.deepEqual(await collect({ pages: 0, size: 0 }), { got: [] });
  });

  test("a series carries more than one NATS message may (max_payload)", async () => {
    const max = client.connection.info?.max_payload ?? 1024 * 1024;
    const pages = Math.ceil((3 * max) / (256 * 1024));
    const { got, err } = await collect({ pages, size: 256 * 1024 });
    assert.equal(err, undefined);
    assert.deepEqual(got, Array.from({ length: pages }, (_, i) => i));
  });

  test("an error after some pages reaches the requester after them, with its code", async () => {
    const { got, err } = await collect({ pages: 2, size: 1, then: "refuse" });
    assert.deepEqual(got, [0, 1]);
    assert.equal(err?.code, "TEST_REFUSED");
    assert.equal(err?.status, 409);
  });

  test("a page that breaks its schema ends the series with BUS_MESSAGE_INVALID", async () => {
    const { got, err } = await collect({ pages: 1, size: 1, then: "bad-page" });
    assert.deepEqual(got, [0]);
    assert.equal(err?.code, "BUS_MESSAGE_INVALID");
  });

  test("a series that does not end in time is BUS_TIMEOUT, not a short answer", async () => {
    const { got, err } = await collect({ pages: 1, size: 1, then: "hang" }, 400);
    releaseHang();
    assert.deepEqual(got, [0]);
    assert.equal(err?.code, "BUS_TIMEOUT");
  });

  test("a series whose client's connection drops is BUS_DISCONNECTED at once, not BUS_TIMEOUT after its wait", async () => {
    // The client reaches NATS through a TCP relay the test cuts: a disconnect, then a reconnect.
    const relay = await startRelay(new URL(url.replace(/^tls:/, "http:")));
    const cut = await createBus({ url: `tls://127.0.0.1:${relay.port}`, identity: "operator", credentials, namespace, service: "client", logger });
    try {
      const got: number[] = [];
      const started = performance.now();
      await assert.rejects(async () => {
        for await (const page of cut.requestMany(Pages, { pages: 1, size: 1, then: "hang" }, { timeoutMs: 60_000 })) {
          got.push(page.n);
          relay.cut();
        }
      }, (err: SkyferryError) => err.code === "BUS_DISCONNECTED" && err.status === 503);
      assert.deepEqual(got, [0]);
      assert.ok(performance.now() - started < 10_000, "not the 60 s wait");
      releaseHang();
    } finally {
      await cut.drain().catch(() => undefined);
      relay.close();
    }
  });

  test("nobody serving it is BUS_NO_RESPONDERS", async () => {
    const other = await createBus({ url, identity: "operator", credentials, namespace: ns(), service: "client", logger });
    try {
      await assert.rejects(async () => {
        for await (const _ of other.requestMany(Pages, { pages: 1, size: 1 }, { timeoutMs: 500 })) assert.fail("no page expected");
      }, (err: SkyferryError) => err.code === "BUS_NO_RESPONDERS" && err.status === 503);
    } finally {
      await other.drain();
    }
  });

  test("a one-reply answer larger than max_payload is BUS_REPLY_TOO_LARGE, not an internal error", async () => {
    const max = client.connection.info?.max_payload ?? 1024 * 1024;
    server.serve(Big, async ({ size }) => ({ fill: "x".repeat(size) }));
    await server.connection.flush();
    assert.equal((await client.request(Big, { size: 10 })).fill.length, 10);
    await assert.rejects(client.request(Big, { size: max + 1 }), (err: SkyferryError) => err.code === "BUS_REPLY_TOO_LARGE" && /more than one NATS message/.test(err.message));
  });

  test("a many-replies operation cannot be requested or served as one reply, nor the reverse", async () => {
    await assert.rejects(client.request(Pages, { pages: 1, size: 1 }), (err: SkyferryError) => err.code === "BUS_CONTRACT_MISUSED");
    await assert.rejects(async () => {
      for await (const _ of client.requestMany(Echo, { text: "x" })) assert.fail("no page expected");
    }, (err: SkyferryError) => err.code === "BUS_CONTRACT_MISUSED");
    assert.throws(() => client.serve(Pages, async () => ({ n: 0, fill: "" })), (err: SkyferryError) => err.code === "BUS_CONTRACT_MISUSED");
  });
});

describe("bus JetStream work queue", () => {
  test("streams and consumers are created idempotently", async () => {
    const namespace = ns();
    const bus = await createBus({ url, identity: "operator", credentials, namespace, service: "w", logger });
    try {
      assert.equal(await bus.hasStream(stream), false);
      await Promise.all([bus.ensureStream(stream), bus.ensureStream(stream)]);
      await bus.ensureConsumer(consumer);
      await bus.ensureConsumer(consumer);
      assert.equal(await bus.hasStream(stream), true);
      assert.equal(await bus.hasConsumer(consumer), true);
    } finally {
      await bus.connection.jetstreamManager().then((jsm) => jsm.streams.delete(stream.name(namespace)));
      await bus.drain();
    }
  });

  test("a re-published message id is de-duplicated; two workers share one durable consumer exactly once", async () => {
    const namespace = ns();
    const w1 = await createBus({ url, identity: "operator", credentials, namespace, service: "w", logger });
    const w2 = await createBus({ url, identity: "operator", credentials, namespace, service: "w", logger });
    try {
      await w1.ensureStream(stream);
      await w1.ensureConsumer(consumer);
      const first = await w1.enqueue(Job, ["a"], { n: 1, mode: "ok" }, "job-a");
      const again = await w1.enqueue(Job, ["a"], { n: 1, mode: "ok" }, "job-a");
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      for (let i = 2; i <= 40; i++) await w1.enqueue(Job, [String(i)], { n: i, mode: "ok" }, `job-${i}`);
      const seen: number[] = [];
      const byWorker = new Map<string, number>();
      const handler = (who: string) => async (data: { n: number }) => {
        seen.push(data.n);
        byWorker.set(who, (byWorker.get(who) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 5));
      };
      const k1 = await w1.work(consumer, Job, handler("w1"), { concurrency: 2 });
      const k2 = await w2.work(consumer, Job, handler("w2"), { concurrency: 2 });
      await waitFor(() => seen.length >= 40, 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      await Promise.all([k1.stop(), k2.stop()]);
      assert.equal(seen.length, 40, "each message handled exactly once");
      assert.deepEqual([...new Set(seen)].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1));
      assert.ok((byWorker.get("w1") ?? 0) > 0 && (byWorker.get("w2") ?? 0) > 0, `both workers took work: ${JSON.stringify([...byWorker])}`);
    } finally {
      await w1.connection.jetstreamManager().then((jsm) => jsm.streams.delete(stream.name(namespace)));
      await Promise.all([w1.drain(), w2.drain()]);
    }
  });

  test("handlers running at once may each listen for the worker's stop without a listener-leak warning", async () => {
    const namespace = ns();
    const bus = await createBus({ url, identity: "operator", credentials, namespace, service: "w", logger });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      await bus.ensureStream(stream);
      await bus.ensureConsumer(consumer);
      const count = 24;
      for (let i = 1; i <= count; i++) await bus.enqueue(Job, [String(i)], { n: i, mode: "ok" }, `listen-${i}`);
      let listening = 0;
      let done = 0;
      const worker = await bus.work(
        consumer,
        Job,
        async (_data, ctx) => {
          const onStop = () => undefined;
          ctx.signal.addEventListener("abort", onStop, { once: true });
          listening++;
          await waitFor(() => listening === count, 5000); // every handler is listening at once
          ctx.signal.removeEventListener("abort", onStop);
          done++;
        },
        { concurrency: count },
      );
      await waitFor(() => done === count, 10_000);
      await worker.stop();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      assert.deepEqual(warnings.filter((w) => w.includes("MaxListeners")), []);
    } finally {
      process.off("warning", onWarning);
      await bus.connection.jetstreamManager().then((jsm) => jsm.streams.delete(stream.name(namespace)));
      await bus.drain();
    }
  });

  test("an un-acked message is redelivered after ack_wait; a retryable failure is retried; an invalid one is terminated", async () => {
    const namespace = ns();
    const bus = await createBus({ url, identity: "operator", credentials, namespace, service: "w", logger });
    const raw = await connect();
    try {
      await bus.ensureStream(stream);
      await bus.ensureConsumer(consumer);
      // A worker that takes the message and never answers (like a killed process).
      const js = raw.jetstream();
      const c = await js.consumers.get(stream.name(namespace), consumer.durable);
      await bus.enqueue(Job, ["h"], { n: 1, mode: "hang" }, "hang-1");
      const taken = await c.next({ expires: 2000 });
      assert.ok(taken, "first delivery");
      assert.equal(taken.info.deliveryCount, 1);
      const again = await c.next({ expires: 5000 });
      assert.ok(again, "redelivered after ack_wait");
      assert.equal(again.info.deliveryCount, 2);
      again.ack();

      const deliveries: number[] = [];
      const worker = await bus.work(
        consumer,
        Job,
        async (_data, ctx) => {
          deliveries.push(ctx.deliveryCount);
          if (ctx.deliveryCount === 1) throw new SkyferryError("TEST_THROTTLED", "slow down", { status: 503, retryable: true });
        },
        { concurrency: 1, backoffMs: () => 100 },
      );
      await bus.enqueue(Job, ["r"], { n: 2, mode: "retry-once" }, "retry-1");
      // An invalid message published around the contract: the worker must term it, not loop.
      await js.publish(`${namespace}.test.jobs.bad`, new TextEncoder().encode(JSON.stringify({ type: Job.type, id: "bad", time: "x", data: {} })));
      await waitFor(() => deliveries.length >= 2, 5000);
      assert.deepEqual(deliveries, [1, 2]);
      await new Promise((r) => setTimeout(r, 1500));
      await worker.stop();
      const jsm = await raw.jetstreamManager();
      const info = await jsm.consumers.info(stream.name(namespace), consumer.durable);
      // Acked and terminated messages are settled: nothing pending, nothing awaiting an ack.
      // (nats-server 2.9 keeps a terminated message in a work-queue stream, but never redelivers it.)
      assert.equal(info.num_pending, 0);
      assert.equal(info.num_ack_pending, 0);
      assert.deepEqual(deliveries, [1, 2], "the invalid message never reached the handler");
    } finally {
      await raw.jetstreamManager().then((jsm) => jsm.streams.delete(stream.name(namespace)));
      await raw.drain();
      await bus.drain();
    }
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP relay to `to` on a port of its own; `cut()` drops every connection through it (they may connect again). */
async function startRelay(to: URL): Promise<{ port: number; cut(): void; close(): void }> {
  const open = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = createConnection({ host: to.hostname, port: Number(to.port) });
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]] as const) {
      open.add(a);
      a.pipe(b);
      a.on("error", () => b.destroy());
      a.on("close", () => (open.delete(a), b.destroy()));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const cut = () => {
    for (const s of open) s.destroy();
  };
  return { port: (server.address() as { port: number }).port, cut, close: () => (cut(), server.close()) };
}
