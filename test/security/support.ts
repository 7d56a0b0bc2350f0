// The attacker's side of the bus tests (issue 18, docs/trust.md): plain `nats` clients connecting as
// nobody, as a random NKey, as each identity of the stack's seed folder, and over a plaintext socket;
// raw request envelopes (never the bus package's validating client, which would refuse to send a bad
// message); actor assertions made here with node:crypto, independently of @skyferry/actor.
import { generateKeyPairSync, type KeyObject, createPrivateKey, randomBytes, randomUUID, sign } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { resolve } from "node:path";
import { AckPolicy, connect, Events, type NatsConnection, NatsError, nkeyAuthenticator, nkeys, type Status, StorageType, type Subscription } from "nats";

/** The identities of the stack's seed folder (docs/trust.md); `operator` has every right. */
export const IDENTITIES = ["gateway", "authz", "history", "transfer", "provisioner", "publisher-example", "monitor", "operator"] as const;
export type Identity = (typeof IDENTITIES)[number];
/** Who attacks: no credentials, a fresh random NKey, or one of the stack's identities. */
export type Attacker = "anonymous" | "random-nkey" | Identity;

/** The trust settings of the stack (`.stack/env`), from the environment or read from the file. */
export interface TrustEnv {
  natsUrl: string;
  caFile: string;
  seedDir: string;
  signingKeyFile: string;
}

export function trustEnv(): TrustEnv {
  const file = resolve(process.env.SKYFERRY_STACK_DIR ?? resolve(import.meta.dirname, "../../.stack"), "env");
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const m = line.match(/^(?:export\s+)?([A-Z0-9_]+)=['"]?(.*?)['"]?$/);
      if (m) fromFile[m[1]!] = m[2]!;
    }
  }
  const need = (name: string): string => {
    const v = process.env[name] ?? fromFile[name];
    if (!v) throw new Error(`${name} is not set: the stack of docs/trust.md is not up (source .stack/env).`);
    return v;
  };
  return {
    natsUrl: need("SKYFERRY_NATS_URL"),
    caFile: need("SKYFERRY_NATS_TLS_CA_FILE"),
    seedDir: need("SKYFERRY_NATS_SEED_DIR"),
    signingKeyFile: need("SKYFERRY_ACTOR_SIGNING_KEY_FILE"),
  };
}

export const seedOf = (env: TrustEnv, identity: Identity): string => readFileSync(resolve(env.seedDir, `${identity}.nk`), "utf8").trim();

/** A connection, or why NATS refused it. */
export type Connected = { nc: NatsConnection; refused?: undefined } | { nc?: undefined; refused: string };

/** Connects over TLS (the stack's CA) as `who`; never reconnects, never waits more than 5 s. */
export async function connectAs(env: TrustEnv, who: Attacker): Promise<Connected> {
  const auth =
    who === "anonymous" ? {} : { authenticator: nkeyAuthenticator(new TextEncoder().encode(who === "random-nkey" ? randomSeed() : seedOf(env, who))) };
  try {
    const nc = await connect({
      servers: env.natsUrl.split(",").map((s) => s.trim()),
      name: `attacker-${who}`,
      tls: { caFile: env.caFile },
      // Replies go to the requester's own inbox prefix (docs/trust.md): `_INBOX.<identity>.>`.
      ...(who === "anonymous" || who === "random-nkey" ? {} : { inboxPrefix: `_INBOX.${who}` }),
      reconnect: false,
      maxReconnectAttempts: 0,
      timeout: 5000,
      ...auth,
    });
    return { nc };
  } catch (err) {
    return { refused: err instanceof NatsError ? `${err.code}: ${err.message}` : String(err) };
  }
}

const randomSeed = (): string => new TextDecoder().decode(nkeys.createUser().getSeed());

/** What became of one attempt. */
export type Outcome =
  | { kind: "connect-refused"; detail: string }
  | { kind: "denied"; operation: string; subject: string }
  | { kind: "error-reply"; status: number; code: string; message: string }
  | { kind: "answered"; text: string }
  | { kind: "silent"; detail: string };

/** The refusals issue 18 accepts: NATS refused the connection or the subject, or the service answered 401/403. */
export function isRefusal(o: Outcome, subject: string): boolean {
  if (o.kind === "connect-refused") return /AUTHORIZATION_VIOLATION|authorization violation/i.test(o.detail);
  if (o.kind === "denied") return o.subject === subject;
  if (o.kind === "error-reply") return o.status === 401 || o.status === 403;
  return false;
}

export const describeOutcome = (o: Outcome): string =>
  o.kind === "connect-refused" ? `connect refused (${o.detail})`
  : o.kind === "denied" ? `NATS denied ${o.operation} to ${o.subject}`
  : o.kind === "error-reply" ? `error reply ${o.status} ${o.code}: ${o.message}`
  : o.kind === "answered" ? `ANSWERED: ${o.text.slice(0, 300)}`
  : `no answer (${o.detail})`;

/** One attempt of one attacker, for the matrices. */
export interface Attempt { who: Attacker; what: string; subject: string; outcome: Outcome }

/** The attempts not refused as issue 18 accepts (or as `accept` says), one readable line each. */
export const holes = (rows: Attempt[], accept: (a: Attempt) => boolean = (a) => isRefusal(a.outcome, a.subject)): string[] =>
  rows.filter((a) => !accept(a)).map((a) => `${a.who} / ${a.what}: ${describeOutcome(a.outcome)}`);

/** One line per attacker: how its attempts were refused (the report's evidence). */
export function summary(rows: Attempt[]): string {
  const by = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const o = r.outcome;
    const short = o.kind === "connect-refused" ? "connect refused" : o.kind === "denied" ? "NATS denied" : o.kind === "error-reply" ? `${o.status} ${o.code}` : o.kind;
    const m = by.get(r.who) ?? new Map<string, number>();
    m.set(short, (m.get(short) ?? 0) + 1);
    by.set(r.who, m);
  }
  return [...by].map(([who, m]) => `${who}: ${[...m].map(([k, n]) => `${k} ×${n}`).join(", ")}`).join("; ");
}

/** A request envelope as services expect it (packages/contracts/src/envelope.ts). */
export const envelope = (type: string, data: unknown, id: string = randomUUID()) => ({ type, id, time: new Date().toISOString(), data });

/** Sends `message` as a request on `subject` and classifies the first reply. */
export async function rpc(conn: Connected, subject: string, message: unknown, timeoutMs = 3000): Promise<Outcome> {
  if (!conn.nc) return { kind: "connect-refused", detail: conn.refused };
  try {
    const reply = await conn.nc.request(subject, new TextEncoder().encode(JSON.stringify(message)), { timeout: timeoutMs });
    return classifyReply(new TextDecoder().decode(reply.data));
  } catch (err) {
    return classifyError(err);
  }
}

export function classifyReply(text: string): Outcome {
  let body: { ok?: boolean; error?: { status?: number; code?: string; message?: string } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { kind: "answered", text };
  }
  if (body.ok === false && body.error) return { kind: "error-reply", status: body.error.status ?? 0, code: body.error.code ?? "", message: body.error.message ?? "" };
  return { kind: "answered", text };
}

export function classifyError(err: unknown): Outcome {
  if (err instanceof NatsError && err.permissionContext) return { kind: "denied", operation: err.permissionContext.operation, subject: err.permissionContext.subject };
  if (err instanceof NatsError) return { kind: "silent", detail: `${err.code}: ${err.message}` };
  return { kind: "silent", detail: String(err) };
}

/** Subscribes to `subject`: denied (the server's permission error), or the messages seen within `ms`. */
export async function trySubscribe(conn: Connected, subject: string, ms = 1500): Promise<Outcome & { received?: number }> {
  if (!conn.nc) return { kind: "connect-refused", detail: conn.refused };
  const sub: Subscription = conn.nc.subscribe(subject);
  let received = 0;
  const ended = (async () => {
    try {
      for await (const _ of sub) received++;
      return undefined;
    } catch (err) {
      return err;
    }
  })();
  await conn.nc.flush();
  let timer: NodeJS.Timeout | undefined;
  const err = await Promise.race([ended, new Promise((r) => (timer = setTimeout(() => r("open"), ms)))]).finally(() => clearTimeout(timer));
  if (err === "open") {
    sub.unsubscribe();
    return { kind: "answered", text: `subscription to ${subject} stayed open (${received} messages)`, received };
  }
  if (err === undefined) return { kind: "silent", detail: "subscription closed without an error", received };
  return { ...classifyError(err), received };
}

/** Records every message on `subject` (headers and payload as text); a subscription error is recorded as subject `!error`. */
export async function record(nc: NatsConnection, subject: string) {
  const seen: Array<{ subject: string; text: string }> = [];
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => void seen.push(err ? { subject: "!error", text: String(err) } : { subject: msg.subject, text: `${msg.headers?.toString() ?? ""}${new TextDecoder().decode(msg.data)}` }),
  });
  await nc.flush();
  return { seen, sub };
}

/** Publishes on `subject` (core NATS): denied when the server says so within `ms`, else published. */
export async function tryPublish(conn: Connected, subject: string, ms = 1000): Promise<Outcome> {
  if (!conn.nc) return { kind: "connect-refused", detail: conn.refused };
  const nc = conn.nc;
  // nats.js types status() as an AsyncIterable; it is a QueuedIterator, whose stop() ends it.
  const status = nc.status() as AsyncIterable<Status> & { stop(): void };
  let timer: NodeJS.Timeout | undefined;
  const denied = (async () => {
    for await (const s of status) if (s.type === Events.Error && s.permissionContext?.subject === subject) return s.permissionContext;
    return undefined;
  })();
  nc.publish(subject, new TextEncoder().encode(JSON.stringify(envelope("skyferry.forged.v1", {}))));
  await nc.flush();
  const ctx = await Promise.race([denied, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  clearTimeout(timer);
  status.stop();
  return ctx ? { kind: "denied", operation: ctx.operation, subject: ctx.subject } : { kind: "answered", text: `published on ${subject}` };
}

/**
 * A forged work message (issue 18, finding 5): the job it carries names the forger's authorization
 * and bucket and another user's dataset (`store_key`), as a worker before issue 18 would have run it.
 */
export function forgeWork(namespace: string, f: { user_id: string; history_id: string; dataset_id: string; store_key: string; authz_id: string; bucket: string; bytes_total: number }) {
  const id = randomBytes(8).toString("hex");
  const t = new Date().toISOString();
  const job = {
    _id: id, dedupe_key: id, idempotency_key: id, hid: 1, dataset_name: "loot.txt", provider: "s3", planned_key: `loot-${id}.txt`, object_key: `loot-${id}.txt`,
    overwrite_policy: "overwrite", storage_class: null, metadata: {}, state: "queued", outcome: null, bytes_done: 0, checksum: { sha256: "0".repeat(64), md5: "0".repeat(32) },
    attempts: 0, retries: 0, error: null, upload: null, worker: null, create_time: t, update_time: t, ...f,
  };
  const message = envelope("skyferry.transfer.job.v1", { job_id: id, user_id: f.user_id, job }, id);
  return { id, subject: `${namespace}.transfer.work.${id}`, payload: new TextEncoder().encode(JSON.stringify(message)) };
}

/** A JetStream publish (message id = the work's id): stored (with its sequence), or why not. */
export async function jsPublish(c: Connected, f: { id: string; subject: string; payload: Uint8Array }): Promise<Outcome & { seq?: number }> {
  if (!c.nc) return { kind: "connect-refused", detail: c.refused };
  try {
    const ack = await c.nc.jetstream().publish(f.subject, f.payload, { msgID: f.id, timeout: 3000 });
    return { kind: "answered", text: `stored as stream seq ${ack.seq}`, seq: ack.seq };
  } catch (err) {
    return classifyError(err);
  }
}

/**
 * As transfer, makes (`create`) or widens (`update`) stream `name` so that it also captures replies
 * meant for the gateway (session ids from login.complete, new API keys from api-key.create), then
 * pulls one through transfer's own consumer name. What happened, with the evidence; `cleanup`
 * deletes the stream (as operator).
 */
export async function captureAsTransfer(transfer: NatsConnection, operator: NatsConnection, name: string, mode: "create" | "update", workPattern: string) {
  const jsm = await transfer.jetstreamManager({ checkAPI: false });
  const opm = await operator.jetstreamManager();
  let outcome: Outcome;
  try {
    if (mode === "create") await jsm.streams.add({ name, subjects: ["_INBOX.gateway.>"], storage: StorageType.Memory });
    else await jsm.streams.update(name, { subjects: [workPattern, "_INBOX.gateway.>"] });
    outcome = { kind: "answered", text: `transfer ${mode}d stream ${name} to capture _INBOX.gateway.>` };
  } catch (err) {
    outcome = classifyError(err);
  }
  const subjects = await opm.streams.info(name).then((i) => i.config.subjects ?? [], (): string[] => []);
  const captures = subjects.includes("_INBOX.gateway.>");
  let evidence = "";
  if (captures) {
    operator.publish("_INBOX.gateway.sniffed", new TextEncoder().encode("a reply meant for the gateway"));
    await operator.flush();
    try {
      await jsm.consumers.add(name, { durable_name: "transfer-workers", ack_policy: AckPolicy.Explicit });
      const m = await (await transfer.jetstream().consumers.get(name, "transfer-workers")).next({ expires: 2000 });
      evidence = m ? `; transfer then pulled ${m.subject}: "${new TextDecoder().decode(m.data)}"` : "; nothing pulled";
    } catch (err) {
      evidence = `; pulling failed: ${String(err)}`;
    }
  }
  return { outcome, captures, evidence, cleanup: () => opm.streams.delete(name).then(() => undefined, () => undefined) };
}

// ---- actor assertions (docs/trust.md "Signed actor"), made here with node:crypto ----

export interface AssertionClaims {
  sub: string;
  aud: string;
  iss?: string;
  iat?: number;
  exp?: number;
  rid?: string;
}

/** A compact JWS (EdDSA) over `claims`; iss/iat/exp default to a fresh gateway assertion. */
export function assertion(key: KeyObject, claims: AssertionClaims): string {
  const now = Math.floor(Date.now() / 1000);
  const full = { iss: "skyferry-gateway", iat: now, exp: now + 60, rid: `rid-${randomBytes(4).toString("hex")}`, ...claims };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg: "EdDSA", typ: "JWT" })}.${b64(full)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString("base64url")}`;
}

/**
 * Assertions issue 18 wants refused, each with the status and code expected (docs/trust.md, @skyferry/actor's
 * BUS_ACTOR_* codes): `real` is the gateway's key, `forger` any other Ed25519 key.
 */
export function badAssertions(real: KeyObject, forger: KeyObject, a: { victim: string; other: string; aud: string }): Array<[string, string | undefined, number, RegExp]> {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return [
    ["missing", undefined, 401, /^BUS_ACTOR_MISSING$/],
    ["malformed", "not-a-jws", 401, /^BUS_ACTOR_INVALID$/],
    ["forged", assertion(forger, { sub: a.victim, aud: a.aud }), 401, /^BUS_ACTOR_INVALID$/],
    ["unsigned (alg none)", `${b64({ alg: "none", typ: "JWT" })}.${b64({ iss: "skyferry-gateway", sub: a.victim, aud: a.aud, iat: now, exp: now + 60 })}.`, 401, /^BUS_ACTOR_INVALID$/],
    ["expired", assertion(real, { sub: a.victim, aud: a.aud, iat: now - 600, exp: now - 540 }), 401, /^BUS_ACTOR_EXPIRED$/],
    ["other deployment", assertion(real, { sub: a.victim, aud: "skyferry:another-namespace" }), 403, /^BUS_ACTOR_(FOREIGN|INVALID)$/],
    ["other user", assertion(real, { sub: a.other, aud: a.aud }), 403, /^BUS_ACTOR_(FOREIGN|INVALID)$/],
    ["other issuer", assertion(real, { sub: a.victim, aud: a.aud, iss: "skyferry-authz" }), 401, /^BUS_ACTOR_INVALID$/],
  ];
}

/**
 * credentials.issue requests for `victimAuthz` made from a real job grant of another user
 * (`g1.<kid>.<claims>.<mac>`, services/authz/src/crypto/grants.ts): none, malformed, re-MACed, re-claimed, reused.
 */
export function grantAttacks(grant: string, victim: string, victimAuthz: string): Array<[string, Record<string, unknown>]> {
  const [, kid, , mac] = grant.split(".");
  const claims = Buffer.from(JSON.stringify({ u: victim, a: victimAuthz, exp: Math.floor(Date.now() / 1000) + 3600 })).toString("base64url");
  return [
    ["neither actor nor grant", { authz_id: victimAuthz }],
    ["a malformed grant", { grant: "g1.k.e30.AAAA", authz_id: victimAuthz }],
    ["a grant with the victim's claims and a made-up MAC", { grant: `g1.${kid}.${claims}.${randomBytes(32).toString("base64url")}`, authz_id: victimAuthz }],
    ["another user's grant with its claims replaced by the victim's", { grant: `g1.${kid}.${claims}.${mac}`, authz_id: victimAuthz }],
    ["another user's own grant, for the victim's authorization", { grant, authz_id: victimAuthz }],
  ];
}

/** The gateway's own signing key (only the gateway and this test have it). */
export const gatewayKey = (env: TrustEnv): KeyObject => createPrivateKey(readFileSync(env.signingKeyFile, "utf8"));
/** A key nobody trusts: an assertion signed by it is forged. */
export const forgerKey = (): KeyObject => generateKeyPairSync("ed25519").privateKey;

// ---- a plaintext connection ----

export interface PlaintextProbe {
  /** The server's INFO line, when it sent one before the TLS handshake. */
  info: { tls_required?: boolean; nonce?: string } | undefined;
  /** What the server answered in clear after INFO. */
  after: string;
  closedByServer: boolean;
}

/**
 * Opens a TCP socket without TLS and speaks the NATS protocol in clear: CONNECT signed with `seed`'s
 * key (a valid identity), SUB `>`, PING. A server that requires TLS never answers PONG.
 */
export async function plaintextProbe(natsUrl: string, seed: string, waitMs = 5000): Promise<PlaintextProbe> {
  const url = new URL(natsUrl.split(",")[0]!.trim().replace(/^(tls|nats):\/\//, "http://"));
  const socket = tcpConnect({ host: url.hostname, port: Number(url.port || 4222) });
  let buffer = "";
  let info: PlaintextProbe["info"];
  let sent = false;
  const kp = nkeys.fromSeed(new TextEncoder().encode(seed));
  const send = () => {
    if (sent) return;
    sent = true;
    const nonce = info?.nonce ?? "";
    const sig = Buffer.from(kp.sign(new TextEncoder().encode(nonce))).toString("base64url");
    const connectLine = JSON.stringify({ verbose: false, pedantic: false, lang: "raw", version: "0", protocol: 1, nkey: kp.getPublicKey(), sig });
    socket.write(`CONNECT ${connectLine}\r\nSUB > 1\r\nPING\r\n`);
  };
  let after = "";
  const closed = new Promise<boolean>((res) => {
    socket.on("close", () => res(true));
    socket.on("error", () => undefined);
  });
  socket.on("data", (b: Buffer) => {
    if (!sent) {
      buffer += b.toString("latin1");
      const nl = buffer.indexOf("\r\n");
      if (nl >= 0 && buffer.startsWith("INFO ")) {
        info = JSON.parse(buffer.slice(5, nl)) as PlaintextProbe["info"];
        after += buffer.slice(nl + 2);
        send();
      }
    } else after += b.toString("latin1");
  });
  // A server that waits for the TLS handshake first sends nothing: speak anyway.
  const early = setTimeout(send, 1000);
  let timer: NodeJS.Timeout | undefined;
  const closedByServer = await Promise.race([closed, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), waitMs)))]);
  clearTimeout(timer);
  clearTimeout(early);
  socket.destroy();
  return { info, after, closedByServer };
}

/** Waits until `check` is true, polling every `everyMs`, at most `ms`; returns whether it became true. */
export async function waitFor(check: () => Promise<boolean>, ms: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
