import * as authz from "./authz.ts";
import type { EventContract, RpcContract, StreamSpec } from "./define.ts";
import * as history from "./history.ts";
import { SystemPing } from "./system.ts";
import * as transfer from "./transfer.ts";

// Who may do what on NATS (docs/trust.md, "Permissions"): each RPC contract has one serving
// identity and the identities that may call it; each event its publishers and subscribers; the
// work stream its provisioner, producers and consumers. Everything else is denied. No service may
// create or change a stream or a consumer: a stream is a subscription that keeps what it captures,
// so whoever may set a stream's subjects (or a consumer's deliver subject) reads, or writes into,
// anyone's inbox. Streams and consumers are made by `provisioner`, a one-shot job run before the
// services (services/transfer/src/provision.ts), and the services only check them. `permissionsFor`
// turns the table into one identity's nats-server permissions; scripts/nats-config.mjs renders
// the server's `authorization { users = [...] }` from it.

/** Every identity that connects to NATS. */
export const IDENTITIES = ["gateway", "authz", "history", "transfer", "provisioner", "monitor", "publisher-example", "operator"] as const;
export type Identity = (typeof IDENTITIES)[number];

/** The four services: each connects as the identity of its own name. */
export const SERVICE_IDENTITIES = ["gateway", "authz", "history", "transfer"] as const satisfies readonly Identity[];

/**
 * The identities shipped configurations (Docker Compose, Kubernetes) declare. `operator` (every
 * subject, for tests' own set-up and debugging) exists only in the local stack.
 */
export const SHIPPED_IDENTITIES: readonly Identity[] = IDENTITIES.filter((i) => i !== "operator");

/** The namespace a permission set is rendered for when any namespace goes (the local stack's tests use one each). */
export const ANY_NAMESPACE = "*";

export interface RpcGrant {
  contract: RpcContract;
  server: Identity;
  callers: readonly Identity[];
}

export interface EventGrant {
  contract: EventContract;
  publishers: readonly Identity[];
  subscribers: readonly Identity[];
}

export interface StreamGrant {
  stream: StreamSpec;
  /**
   * Creates and updates the stream and its consumer (the provisioning command, before the services
   * start); the only identity, besides the stack's `operator`, that may create or change either.
   */
  provisioner: Identity;
  /** The work items: JetStream-published to the stream's subjects by the producers. */
  work: EventContract;
  producers: readonly Identity[];
  /** The durable pull consumer and who pulls from it and acknowledges. */
  durable: string;
  consumers: readonly Identity[];
}

const gateway = ["gateway"] as const;
const transferOnly = ["transfer"] as const;

export const RPC_GRANTS: readonly RpcGrant[] = [
  { contract: SystemPing.authz, server: "authz", callers: gateway },
  { contract: SystemPing.history, server: "history", callers: gateway },
  { contract: SystemPing.transfer, server: "transfer", callers: gateway },
  // authz: sign-in, sessions, API keys, cloud authorizations for the gateway; credentials and
  // summaries of authorizations for transfer's planners and workers only.
  ...[
    authz.AuthzResolveActor,
    authz.AuthzProvidersList,
    authz.AuthzLoginBegin,
    authz.AuthzLoginComplete,
    authz.AuthzSessionLogout,
    authz.AuthzIdentitiesList,
    authz.AuthzIdentityDisconnect,
    authz.AuthzUserGet,
    authz.AuthzApiKeyCreate,
    authz.AuthzApiKeyDescribe,
    authz.AuthzApiKeyDelete,
    authz.AuthzCloudList,
    authz.AuthzCloudCreate,
    authz.AuthzCloudGet,
    authz.AuthzCloudUpdate,
    authz.AuthzCloudDelete,
    authz.AuthzCloudTest,
  ].map((contract): RpcGrant => ({ contract, server: "authz", callers: gateway })),
  { contract: authz.AuthzIssueCredentials, server: "authz", callers: transferOnly },
  { contract: authz.AuthzDescribe, server: "authz", callers: transferOnly },
  // history: the gateway's history and dataset routes; transfer reads a history (get) and the
  // datasets of a send, and alone drives imports.
  ...[history.HistoryList, history.HistoryCreate, history.HistoryUpdate, history.HistoryDelete, history.HistoryContentsList, history.DatasetGet, history.DatasetUpdate, history.DatasetDelete].map(
    (contract): RpcGrant => ({ contract, server: "history", callers: gateway }),
  ),
  { contract: history.HistoryGet, server: "history", callers: ["gateway", "transfer"] },
  ...[history.HistoryDatasetsForSend, history.HistoryDatasetsOwned, history.HistoryImportCreate, history.HistoryImportStart, history.HistoryImportFinish, history.HistoryImportFinishBatch, history.HistoryImportFail].map(
    (contract): RpcGrant => ({ contract, server: "history", callers: transferOnly }),
  ),
  // transfer: sends, gets, jobs, bucket listings, for the gateway.
  ...[
    transfer.TransferSend,
    transfer.TransferSendPaged,
    transfer.TransferJobGet,
    transfer.TransferJobList,
    transfer.TransferJobCancel,
    transfer.TransferJobRetry,
    transfer.TransferObjectsList,
    transfer.TransferGetPlan,
  ].map((contract): RpcGrant => ({ contract, server: "transfer", callers: gateway })),
  // External NATS publishers reach only the gateway's public subjects, and prove the user with a
  // key hash (docs/trust.md): operators declare their own identities beside `publisher-example`.
  { contract: transfer.PublicTransferSend, server: "gateway", callers: ["publisher-example"] },
];

export const EVENT_GRANTS: readonly EventGrant[] = [
  { contract: authz.AuthzApiKeysRevoked, publishers: ["authz"], subscribers: gateway },
  { contract: transfer.TransferJobProgress, publishers: transferOnly, subscribers: gateway },
  { contract: transfer.TransferJobCompleted, publishers: transferOnly, subscribers: gateway },
  { contract: transfer.TransferJobFailed, publishers: transferOnly, subscribers: gateway },
  { contract: transfer.TransferJobAbort, publishers: transferOnly, subscribers: transferOnly },
];

export const STREAM_GRANTS: readonly StreamGrant[] = [
  {
    stream: transfer.TransferJobsStream,
    provisioner: "provisioner",
    work: transfer.TransferJobWork,
    // The send and get planners.
    producers: transferOnly,
    durable: transfer.transferJobsConsumer(30, 10).durable,
    consumers: transferOnly,
  },
];

/** One identity's nats-server permissions (the `permissions` of its entry in `authorization.users`). */
export interface NatsPermissions {
  /**
   * An identity that publishes nothing of its own (only replies) gets `deny: [">"]`: nats-server
   * reads an empty allow list as no restriction at all.
   */
  publish: { allow: string[] } | { deny: string[] };
  subscribe: { allow: string[] };
  /** Lets a server answer the requests it received (each reply subject for a while), nothing else. */
  allow_responses?: { max: number; expires: string };
}

/**
 * How many replies one request may get, and for how long: an identity serving a `replies: "many"`
 * operation sends a page per message (a send of 100,000 datasets is 100 pages); otherwise one.
 * nats-server forgets a reply subject after `max` replies or `expires`, whichever comes first.
 */
const RESPONSES_ONE = { max: 1, expires: "2m" };
const RESPONSES_MANY = { max: 100_000, expires: "10m" };

/** The inbox an identity's requests get their replies on (`inboxPrefix` of its connection). */
export const inboxOf = (identity: string): string => `_INBOX.${identity}`;

/**
 * The subjects `identity` may publish and subscribe to in `namespace` (or in every namespace with
 * ANY_NAMESPACE, as the local stack's tests need). JetStream API subjects are those of the streams
 * and consumers the identity owns or consumes, never `$JS.API.>`; with ANY_NAMESPACE the stream
 * name becomes a wildcard token (names are per namespace), the operations stay the same.
 */
export function permissionsFor(identity: Identity, namespace: string): NatsPermissions {
  if (identity === "operator") return { publish: { allow: [">"] }, subscribe: { allow: [">"] } };
  if (identity === "monitor") return { publish: { allow: [`${inboxOf(identity)}.>`] }, subscribe: { allow: [">"] } };
  const publish = new Set<string>();
  const subscribe = new Set<string>([`${inboxOf(identity)}.>`]);
  let serves: RpcContract["replies"] | undefined;
  for (const g of RPC_GRANTS) {
    const subject = g.contract.subject(namespace);
    if (g.server === identity) {
      subscribe.add(subject);
      if (serves !== "many") serves = g.contract.replies;
    }
    if (g.callers.includes(identity)) publish.add(subject);
  }
  for (const g of EVENT_GRANTS) {
    const pattern = g.contract.pattern(namespace);
    if (g.publishers.includes(identity)) publish.add(pattern);
    if (g.subscribers.includes(identity)) subscribe.add(pattern);
  }
  for (const g of STREAM_GRANTS) {
    for (const s of jetStreamSubjects(g, identity, namespace)) publish.add(s);
  }
  return {
    publish: publish.size > 0 ? { allow: [...publish] } : { deny: [">"] },
    subscribe: { allow: [...subscribe] },
    ...(serves ? { allow_responses: serves === "many" ? RESPONSES_MANY : RESPONSES_ONE } : {}),
  };
}

/**
 * The JetStream API and ack subjects `identity` needs for one stream (what packages/bus/src/jetstream.ts
 * calls). Consumers get what pull consumption needs and nothing that creates or changes: no
 * `STREAM.CREATE|UPDATE` (a stream of `_INBOX.>` would keep others' replies), no `CONSUMER.CREATE`
 * (a push consumer's deliver subject, or a filter, is a subject of the creator's choosing).
 */
function jetStreamSubjects(g: StreamGrant, identity: Identity, namespace: string): string[] {
  const stream = namespace === ANY_NAMESPACE ? "*" : g.stream.name(namespace);
  const consumer = `${stream}.${g.durable}`;
  const out: string[] = [];
  if (g.provisioner === identity) {
    // ensureStream: info, then update or create; ensureConsumer: info, then update or create
    // (nats.js names the durable in the subject; a filtered consumer adds its filter).
    out.push(`$JS.API.STREAM.INFO.${stream}`, `$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`);
    out.push(`$JS.API.CONSUMER.INFO.${consumer}`, `$JS.API.CONSUMER.CREATE.${consumer}`, `$JS.API.CONSUMER.CREATE.${consumer}.>`, `$JS.API.CONSUMER.DURABLE.CREATE.${consumer}`);
  }
  if (g.producers.includes(identity)) out.push(g.work.pattern(namespace));
  if (g.consumers.includes(identity)) {
    // The readiness check (stream and consumer present), the pull, the acks (ack, nak, term, working).
    out.push(`$JS.API.STREAM.INFO.${stream}`, `$JS.API.CONSUMER.INFO.${consumer}`, `$JS.API.CONSUMER.MSG.NEXT.${consumer}`, `$JS.ACK.${consumer}.>`);
  }
  return out;
}

/** One row per contract: what the README's "Trust" table shows. */
export function permissionTable(): Array<{ kind: "rpc" | "event" | "stream"; subject: string; who: string; whom: string }> {
  const ns = "<ns>";
  return [
    ...RPC_GRANTS.map((g) => ({ kind: "rpc" as const, subject: g.contract.subject(ns), who: g.server, whom: g.callers.join(", ") })),
    ...EVENT_GRANTS.map((g) => ({ kind: "event" as const, subject: g.contract.pattern(ns), who: g.publishers.join(", "), whom: g.subscribers.join(", ") })),
    ...STREAM_GRANTS.map((g) => ({ kind: "stream" as const, subject: `${g.work.pattern(ns)} (stream ${g.stream.name("NS")}, consumer ${g.durable}; provisioned by ${g.provisioner})`, who: g.producers.join(", "), whom: g.consumers.join(", ") })),
  ];
}

/** The table as Markdown, as the README's "Trust" section shows it (a test keeps the two equal). */
export function permissionTableMarkdown(): string {
  const rows = permissionTable().map((r) => `| ${r.kind} | \`${r.subject}\` | ${r.who} | ${r.whom} |`);
  return ["| kind | subject | served / published / fed by | called / subscribed / consumed by |", "|---|---|---|---|", ...rows].join("\n");
}
