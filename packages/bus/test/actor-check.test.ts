// bus.serve's actor check, against an in-memory stand-in for the NATS connection: what matters
// here is what serve does with a request (refuse or run the handler), not the transport, which
// bus.test.ts covers against a real nats-server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Type } from "@sinclair/typebox";
import { createActorSigner, createActorVerifier } from "@skyferry/actor";
import { generateActorKeys } from "@skyferry/actor/testing";
import { Actor, defineRpc } from "@skyferry/contracts";
import type { Msg, NatsConnection } from "nats";
import { serve } from "../src/rpc.ts";

const Whoami = defineRpc("test.whoami", 1, Type.Object({ actor: Actor, n: Type.Integer() }, { additionalProperties: false }), Type.Object({ user_id: Type.String() }));
const USER = "0123456789abcdef";
const keys = generateActorKeys();

function fakeConnection() {
  const queue: Msg[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const sub = {
    async *[Symbol.asyncIterator]() {
      while (!closed) {
        const m = queue.shift();
        if (m) yield m;
        else await new Promise<void>((r) => (wake = r));
      }
    },
    unsubscribe() {
      closed = true;
      wake?.();
    },
  };
  const nc = { subscribe: () => sub, info: { max_payload: 1 << 20 } } as unknown as NatsConnection;
  const request = (data: unknown) =>
    new Promise<{ ok: boolean; data?: unknown; error?: { code: string; status: number } }>((resolve) => {
      const body = new TextEncoder().encode(JSON.stringify({ type: Whoami.requestType, id: "m-1", time: new Date().toISOString(), data }));
      queue.push({ data: body, respond: (b: Uint8Array) => (resolve(JSON.parse(new TextDecoder().decode(b))), true) } as unknown as Msg);
      wake?.();
    });
  return { nc, request, close: () => sub.unsubscribe() };
}

function logger() {
  const lines: Array<{ obj: object; msg?: string }> = [];
  const push = (obj: object, msg?: string) => void lines.push({ obj, msg });
  return { lines, info: push, warn: push, error: push, debug: push };
}

test("a request acting for a user runs its handler only with a valid assertion; missing, expired, forged or foreign ones get a coded refusal, logged without the token", async (t) => {
  let now = Date.now();
  const verifier = await createActorVerifier({ publicKeyPem: keys.publicKeyPem, namespace: "ns", now: () => now });
  const signer = await createActorSigner({ privateKeyPem: keys.privateKeyPem, namespace: "ns" });
  const forger = await createActorSigner({ privateKeyPem: generateActorKeys().privateKeyPem, namespace: "ns" });
  const conn = fakeConnection();
  t.after(() => conn.close());
  const log = logger();
  let handled = 0;
  serve(conn.nc, "ns", "q", log, Whoami, async ({ actor }) => (handled++, { user_id: actor.user_id }), { actorCheck: verifier });

  const good = await signer.sign({ user_id: USER, request_id: "r1" });
  assert.deepEqual((await conn.request({ actor: { user_id: USER, assertion: good }, n: 1 })).data, { user_id: USER });
  assert.equal(handled, 1);

  const refused = async (data: unknown) => (await conn.request(data)).error;
  assert.deepEqual(await refused({ actor: { user_id: USER }, n: 2 }), { code: "BUS_ACTOR_MISSING", status: 401, err_code: 401001, message: "The request carries no actor assertion." });
  assert.equal((await refused({ actor: { user_id: "fedcba9876543210", assertion: good }, n: 3 }))?.code, "BUS_ACTOR_FOREIGN");
  const forged = await forger.sign({ user_id: USER });
  assert.equal((await refused({ actor: { user_id: USER, assertion: forged }, n: 4 }))?.status, 401);
  now += 120_000;
  assert.equal((await refused({ actor: { user_id: USER, assertion: good }, n: 5 }))?.code, "BUS_ACTOR_EXPIRED");
  assert.equal(handled, 1, "no refused request reached the handler");

  const warnings = log.lines.filter((l) => l.msg === "actor assertion refused");
  assert.equal(warnings.length, 4);
  for (const w of warnings) {
    const text = JSON.stringify(w.obj);
    assert.ok(!text.includes(good) && !text.includes(forged), "the token is never logged");
    assert.ok("code" in w.obj && "user_id" in w.obj);
  }
});

test("a contract acting for a user cannot be served without an actor check", () => {
  const conn = fakeConnection();
  assert.throws(() => serve(conn.nc, "ns", "q", logger(), Whoami, async () => ({ user_id: USER })), (err: { code?: string }) => err.code === "BUS_ACTOR_CHECK_MISSING");
  conn.close();
});
