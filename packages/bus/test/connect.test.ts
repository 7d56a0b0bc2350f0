import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Type } from "@sinclair/typebox";
import { defineEvent, defineRpc, streamToken } from "@skyferry/contracts";
import { SkyferryError } from "@skyferry/errors";
import { createLogger } from "@skyferry/logger";
import { connect, nkeys } from "nats";
import { type Bus, connectNats, createBus, type NatsCredentials, natsSettingsProblems } from "../src/index.ts";

// Against the stack's NATS (source .stack/env): TLS, NKeys, and the permissions of
// packages/contracts/src/permissions.ts rendered for every namespace.
const url = process.env.SKYFERRY_NATS_URL ?? "tls://127.0.0.1:4222";
const seedDir = process.env.SKYFERRY_NATS_SEED_DIR ?? "";
const ca = process.env.SKYFERRY_NATS_TLS_CA_FILE;
const as = (identity: string): NatsCredentials => ({ nkeySeedFile: join(seedDir, `${identity}.nk`), tlsCaFile: ca });
const logger = createLogger({ name: "connect-test", level: "silent" });
const ns = () => `t-conn-${randomBytes(4).toString("hex")}`;
const Echo = defineRpc("test.echo", 1, Type.Object({ text: Type.String() }), Type.Object({ text: Type.String() }));
const Pages = defineRpc("test.pages", 1, Type.Object({}), Type.Object({ n: Type.Integer() }), { replies: "many" });

async function refused(p: Promise<unknown>): Promise<SkyferryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SkyferryError, `a coded error, got ${String(err)}`);
    return err;
  }
  assert.fail("the connection was accepted");
}

describe("connecting to NATS", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "skyferry-nkeys-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a client without credentials is refused by the server", async () => {
    const hostPort = url.replace(/^tls:\/\//, "").split(",")[0]!;
    await assert.rejects(connect({ servers: hostPort, tls: { caFile: ca }, reconnect: false }), (err: Error & { code?: string }) => {
      assert.equal(err.code, "AUTHORIZATION_VIOLATION");
      return true;
    });
  });

  test("an NKey the server does not know is refused: BUS_AUTH_REFUSED", async () => {
    const seed = join(dir, "stranger.nk");
    writeFileSync(seed, new TextDecoder().decode(nkeys.createUser().getSeed()), { mode: 0o600 });
    const err = await refused(connectNats({ url, name: "stranger", identity: "stranger", credentials: { nkeySeedFile: seed, tlsCaFile: ca } }, { reconnect: false }));
    assert.equal(err.code, "BUS_AUTH_REFUSED");
  });

  test("a server certificate from another CA is refused: BUS_TLS_FAILED", async () => {
    const other = join(dir, "other-ca.pem");
    // A CA that did not sign the server's certificate (the system bundle's first one will do).
    writeFileSync(other, (await import("node:tls")).rootCertificates[0]!);
    const err = await refused(connectNats({ url, name: "tls", identity: "operator", credentials: { ...as("operator"), tlsCaFile: other } }, { reconnect: false }));
    assert.equal(err.code, "BUS_TLS_FAILED");
  });

  test("settings without a seed or creds file, or a tls:// URL without a CA, are refused before connecting, all problems at once", () => {
    const problems = natsSettingsProblems({ url: "tls://nats:4222", identity: "gateway", credentials: {} });
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0]!, /SKYFERRY_NATS_NKEY_SEED_FILE: required/);
    assert.match(problems[1]!, /SKYFERRY_NATS_TLS_CA_FILE: required/);
    assert.deepEqual(natsSettingsProblems({ url, identity: "operator", credentials: as("operator") }), []);
  });
});

describe("an identity beyond its permissions", () => {
  const namespace = ns();
  let history: Bus;
  let operator: Bus;
  before(async () => {
    history = await createBus({ url, namespace, service: "history", credentials: as("history"), logger });
    operator = await createBus({ url, namespace, service: "probe", identity: "operator", credentials: as("operator"), logger });
    operator.serve(Echo, async ({ text }) => ({ text }));
    operator.serveMany(Pages, async function* () {
      yield { n: 1 };
    });
    await operator.connection.flush();
  });
  after(async () => {
    await history.drain();
    await operator.drain();
  });

  test("a request to a subject it may not publish fails at once with BUS_PERMISSION_DENIED (403), not a time-out", async () => {
    const started = Date.now();
    const err = await refused(history.request(Echo, { text: "hi" }, { timeoutMs: 5000 }));
    assert.equal(err.code, "BUS_PERMISSION_DENIED");
    assert.equal(err.status, 403);
    assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`);
    // The connection stays usable: the operator's own request still works.
    assert.deepEqual(await operator.request(Echo, { text: "ok" }), { text: "ok" });
  });

  test("a many-replies request it may not publish fails with BUS_PERMISSION_DENIED", async () => {
    const err = await refused((async () => {
      for await (const _ of history.requestMany(Pages, {}, { timeoutMs: 5000 })) assert.fail("no page may arrive");
    })());
    assert.equal(err.code, "BUS_PERMISSION_DENIED");
  });

  test("a JetStream publish to a stream it may not feed fails with BUS_PERMISSION_DENIED", async () => {
    const Work = defineEvent("skyferry.test.work.v1", Type.Object({ n: Type.Integer() }), (n: string, id: string) => `${n}.transfer.work.${id}`, (n) => `${n}.transfer.work.*`);
    const err = await refused(history.enqueue(Work, ["x1"], { n: 1 }, "x1"));
    assert.equal(err.code, "BUS_PERMISSION_DENIED");
    assert.match(err.message, new RegExp(`${namespace}\\.transfer\\.work\\.x1`));
    assert.ok(streamToken(namespace));
  });
});
