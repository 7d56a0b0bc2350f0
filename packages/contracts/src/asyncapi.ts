import type { TSchema } from "@sinclair/typebox";
import type { EventContract, RpcContract } from "./define.ts";
import * as contracts from "./index.ts";
import { EVENT_GRANTS, RPC_GRANTS, STREAM_GRANTS } from "./permissions.ts";

/** A contract as the AsyncAPI document lists it. */
export type AnyContract = RpcContract | EventContract;

export interface AsyncApiOptions {
  /** The document's `info.version`. */
  version?: string;
  /** Default of the `namespace` parameter (SKYFERRY_NAMESPACE). */
  namespace?: string;
  /** Default `host:port` of the NATS server. */
  natsHost?: string;
}

type Json = Record<string, unknown>;
const ref = ($ref: string) => ({ $ref });

/**
 * Every contract exported by this package (`defineRpc` and `defineEvent` results, also inside
 * exported groups such as `SystemPing`), in a stable order.
 */
export function allContracts(): AnyContract[] {
  const found = new Set<AnyContract>();
  const visit = (value: unknown, depth: number) => {
    if (typeof value !== "object" || value === null) return;
    const kind = (value as { kind?: unknown }).kind;
    if (kind === "rpc" || kind === "event") found.add(value as AnyContract);
    else if (depth < 2 && !Array.isArray(value)) for (const v of Object.values(value)) visit(v, depth + 1);
  };
  for (const value of Object.values(contracts)) visit(value, 1);
  return [...found].sort((a, b) => contractId(a).localeCompare(contractId(b)));
}

/** The channel and operation id of a contract: `<rpc name>.v<version>`, or the event's `type`. */
export function contractId(c: AnyContract): string {
  return c.kind === "rpc" ? `${c.name}.v${c.version}` : c.type;
}

/**
 * The AsyncAPI 3 document of skyferry's NATS interface: one channel per request/reply subject
 * (with a reply channel for the requester's inbox) and per event subject, the namespace and the
 * subject's ids as channel parameters, payloads from the TypeBox schemas. A pure function of the
 * contracts; `npm run asyncapi -w @skyferry/contracts` writes it to docs/asyncapi.json.
 */
export function buildAsyncApi(list: readonly AnyContract[] = allContracts(), options: AsyncApiOptions = {}): Json {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  for (const c of list) {
    const id = contractId(c);
    if (c.kind === "rpc") {
      messages[c.requestType] = message(c.requestType, `Request of ${id}`, c.request);
      messages[c.replyType] = message(c.replyType, `Reply of ${id}: ok with data, or not ok with an error`, c.reply);
      channels[id] = {
        address: `{namespace}.rpc.${c.name}.v${c.version}`,
        title: `${c.name} v${c.version} (${c.replies === "many" ? "request/replies" : "request/reply"})`,
        parameters: { namespace: ref("#/components/parameters/namespace") },
        messages: { request: ref(`#/components/messages/${c.requestType}`) },
      };
      channels[`${id}.reply`] = {
        address: null,
        description: c.replies === "many"
          ? "The requester's inbox: the reply subject NATS gives the request. Many replies, one page each, ended by an empty message; an error reply ends them too."
          : "The requester's inbox: the reply subject NATS gives the request.",
        messages: { reply: ref(`#/components/messages/${c.replyType}`) },
      };
      operations[id] = {
        action: "receive",
        title: `${c.name} v${c.version}`,
        summary: `Served by the ${serviceOf(c)} service's queue group; answers on the request's reply subject.`,
        description: `NATS permissions (README "Trust"): served by ${serviceOf(c)}; requested by ${callersOf(c)}. A requester reads replies on its own inbox, _INBOX.<identity>.>.`,
        channel: ref(`#/channels/${id}`),
        messages: [ref(`#/channels/${id}/messages/request`)],
        reply: { channel: ref(`#/channels/${id}.reply`), messages: [ref(`#/channels/${id}.reply/messages/reply`)] },
        bindings: { nats: { queue: serviceOf(c), bindingVersion: "0.1.0" } },
      };
    } else {
      const params = subjectParams(c);
      messages[c.type] = message(c.type, `Event ${c.type}`, c.message);
      channels[id] = {
        address: c.subject("{namespace}", ...params.map((p) => `{${p}}`)),
        title: c.type,
        description: `Subscribe to every instance with \`${c.pattern("{namespace}")}\`.`,
        parameters: Object.fromEntries([
          ["namespace", ref("#/components/parameters/namespace")],
          ...params.map((p) => [p, { description: `the ${p.replace(/_/g, " ")} (16 lowercase hex characters)` }]),
        ]),
        messages: { event: ref(`#/components/messages/${c.type}`) },
      };
      operations[id] = {
        action: "send",
        title: c.type,
        summary: "Published by skyferry; every message is validated against its schema on publish and on consume.",
        description: eventPermissions(c),
        channel: ref(`#/channels/${id}`),
        messages: [ref(`#/channels/${id}/messages/event`)],
      };
    }
  }
  return {
    asyncapi: "3.0.0",
    info: {
      title: "skyferry NATS interface",
      version: options.version ?? "0.1.0",
      description:
        "Request/reply subjects and events of skyferry's services, generated from packages/contracts. " +
        "Every message is an envelope {type, id, time, data}; a reply is {ok: true, data} or {ok: false, error}. " +
        "Subjects start with the deployment's namespace (SKYFERRY_NAMESPACE).",
    },
    defaultContentType: "application/json",
    servers: {
      nats: {
        host: "{host}",
        protocol: "nats",
        description:
          "The deployment's NATS (JetStream enabled); SKYFERRY_NATS_URL, tls://host:port. TLS only (SKYFERRY_NATS_TLS_CA_FILE), " +
          "and every connection authenticates as its own identity, limited to that identity's subjects (docs/trust.md).",
        variables: { host: { default: options.natsHost ?? "127.0.0.1:4222", description: "host:port of a NATS server" } },
        security: [ref("#/components/securitySchemes/nkey"), ref("#/components/securitySchemes/creds")],
      },
    },
    channels,
    operations,
    components: {
      securitySchemes: {
        nkey: {
          type: "asymmetricEncryption",
          description:
            "NKey (Ed25519): the client signs the server's nonce with its identity's seed (SKYFERRY_NATS_NKEY_SEED_FILE, SU…); " +
            "the server knows each identity's public key and its permissions (packages/contracts/src/permissions.ts). " +
            "A connection without credentials or with an unknown key is refused.",
        },
        creds: {
          type: "asymmetricEncryption",
          description: "Instead of a seed: a decentralized-JWT user (.creds file made with nsc, SKYFERRY_NATS_CREDS_FILE) with the same permissions.",
        },
        clientCertificate: {
          type: "X509",
          description: "Optional, for a server that verifies clients: SKYFERRY_NATS_TLS_CERT_FILE and SKYFERRY_NATS_TLS_KEY_FILE.",
        },
      },
      parameters: {
        namespace: { default: options.namespace ?? "skyferry", description: "SKYFERRY_NAMESPACE: the subject prefix that isolates a deployment" },
      },
      messages,
    },
  };
}

function message(name: string, title: string, schema: TSchema): Json {
  return { name, title, contentType: "application/json", payload: plainSchema(schema) };
}

/** A TypeBox schema as plain JSON Schema: no symbols, no `$id` (an envelope's `$id` is its type, not a URI). */
function plainSchema(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) => (key === "$id" ? undefined : value));
}

/** The service (queue group) answering an RPC: its serving identity in the permission table. */
function serviceOf(c: RpcContract): string {
  const grant = RPC_GRANTS.find((g) => g.contract === c);
  if (grant) return grant.server;
  const parts = c.name.split(".");
  return parts[0] === "system" ? parts[parts.length - 1]! : parts[0]!;
}

function callersOf(c: RpcContract): string {
  return RPC_GRANTS.find((g) => g.contract === c)?.callers.join(", ") ?? "nobody (not in the permission table)";
}

function eventPermissions(c: EventContract): string {
  const e = EVENT_GRANTS.find((g) => g.contract === c);
  if (e) return `NATS permissions (README "Trust"): published by ${e.publishers.join(", ")}; subscribed by ${e.subscribers.join(", ")}.`;
  const s = STREAM_GRANTS.find((g) => g.work === c);
  if (s) return `NATS permissions (README "Trust"): a JetStream work item, published by ${s.producers.join(", ")} into the stream, consumed by ${s.consumers.join(", ")} (durable ${s.durable}).`;
  return "NATS permissions: nobody (not in the permission table).";
}

/**
 * Names of an event subject's parameters after the namespace, from the subject builder's own
 * parameter names (`jobId` -> `job_id`), or `param<n>` when they cannot be read.
 */
export function subjectParams(c: EventContract): string[] {
  const count = Math.max(0, c.subject.length - 1);
  const source = c.subject.toString();
  const list = /^\s*(?:async\s*)?(?:function\b[^(]*)?\(([^)]*)\)/.exec(source)?.[1] ?? /^\s*([A-Za-z_$][\w$]*)\s*=>/.exec(source)?.[1] ?? "";
  const names = list.split(",").map((p) => p.replace(/[:=].*$/s, "").trim()).filter(Boolean).slice(1);
  return Array.from({ length: count }, (_, i) => {
    const raw = names[i];
    return raw && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw) ? raw.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase() : `param${i + 1}`;
  });
}
