import assert from "node:assert/strict";
import { request, Agent } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { drainAfterEarlyReply } from "../src/early-reply.ts";

// A route that answers 413 without reading the body, the way an upload past its size limit
// does. Clients send bodies of several MiB in small chunks, so most of each body is still on its
// way when the answer is given.

const MiB = 1024 * 1024;

interface Outcome { status: number | string; body: string; socketReused: boolean; connection?: string }

function send(port: number, size: number, opts: { agent: Agent; close?: boolean }): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({
      port, host: "127.0.0.1", method: "POST", path: "/upload", agent: opts.agent,
      headers: { "content-type": "application/octet-stream", "content-length": String(size), ...(opts.close ? { connection: "close" } : {}) },
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ status: res.statusCode ?? 0, body, socketReused: req.reusedSocket, connection: res.headers.connection }));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ status: err.code ?? err.message, body: "", socketReused: req.reusedSocket }));
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

describe("drainAfterEarlyReply", () => {
  let app: FastifyInstance;
  let port: number;
  let received = 0;
  before(async () => {
    app = Fastify();
    drainAfterEarlyReply(app, { maxBytes: 8 * MiB, maxMs: 5_000 });
    app.addContentTypeParser("application/octet-stream", (_req, payload, done) => done(null, payload));
    app.post("/upload", async (req, reply) => {
      received++;
      return reply.code(413).send({ err_msg: "too large", err_code: 413001 });
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  after(() => app.close());

  // Without the drain, these connections stall until a server timeout (minutes): hence the timeout.
  test("every client gets the 413 of a body it was still sending, and keep-alive connections are reused", { timeout: 30_000 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const outcomes: Outcome[] = [];
    for (let round = 0; round < 5; round++) outcomes.push(...(await Promise.all(Array.from({ length: 8 }, () => send(port, 4 * MiB, { agent })))));
    agent.destroy();
    assert.deepEqual(outcomes.map((o) => o.status), outcomes.map(() => 413));
    for (const o of outcomes) {
      assert.equal(JSON.parse(o.body).err_code, 413001);
      assert.notEqual(o.connection, "close");
    }
    assert.ok(outcomes.some((o) => o.socketReused), "a drained connection is used again");
  });

  test("a client that asked for connection: close still gets the answer", async () => {
    const agent = new Agent({ keepAlive: false });
    const outcomes = await Promise.all(Array.from({ length: 16 }, () => send(port, 4 * MiB, { agent, close: true })));
    assert.deepEqual(outcomes.map((o) => o.status), outcomes.map(() => 413));
  });

  test("past maxBytes the answer goes out with connection: close instead of waiting for the rest", async () => {
    const agent = new Agent({ keepAlive: true });
    const before = received;
    const outcome = await send(port, 64 * MiB, { agent });
    agent.destroy();
    assert.equal(received, before + 1);
    // The reset may beat the answer here; an answer that arrives says the connection is closing.
    if (outcome.status === 413) assert.equal(outcome.connection, "close");
    else assert.ok(outcome.status === "ECONNRESET" || outcome.status === "EPIPE", String(outcome.status));
  });
});
