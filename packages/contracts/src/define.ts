import type { Static, TSchema } from "@sinclair/typebox";
import { Message, Reply } from "./envelope.ts";

/**
 * A request/reply operation served by one service's queue group.
 * The subject is `<namespace>.rpc.<name>.v<version>`; namespaces isolate deployments and tests.
 * `replies: "many"`: the answer comes as a series of replies, each one page (`responseData`),
 * ended by an empty message (`bus.serveMany` / `bus.requestMany`); an error reply ends it too.
 */
export interface RpcContract<Name extends string = string, Req extends TSchema = TSchema, Res extends TSchema = TSchema> {
  readonly kind: "rpc";
  readonly name: Name;
  readonly version: number;
  readonly replies: "one" | "many";
  readonly requestType: string;
  readonly replyType: string;
  readonly requestData: Req;
  readonly responseData: Res;
  readonly request: ReturnType<typeof Message<string, Req>>;
  readonly reply: ReturnType<typeof Reply<string, Res>>;
  subject(namespace: string): string;
}

export function defineRpc<Name extends string, Req extends TSchema, Res extends TSchema>(
  name: Name,
  version: number,
  requestData: Req,
  responseData: Res,
  options: { replies?: "one" | "many" } = {},
): RpcContract<Name, Req, Res> {
  const requestType = `skyferry.${name}.request.v${version}`;
  const replyType = `skyferry.${name}.reply.v${version}`;
  return {
    kind: "rpc",
    name,
    version,
    replies: options.replies ?? "one",
    requestType,
    replyType,
    requestData,
    responseData,
    request: Message(requestType, requestData),
    reply: Reply(replyType, responseData),
    subject: (namespace) => `${namespace}.rpc.${name}.v${version}`,
  };
}

export type RpcRequest<C> = C extends RpcContract<string, infer Req, TSchema> ? Static<Req> : never;
export type RpcResponse<C> = C extends RpcContract<string, TSchema, infer Res> ? Static<Res> : never;

/**
 * A published event or work item. `subject(namespace, ...params)` builds the concrete subject;
 * `pattern(namespace)` is the wildcard a subscriber or a stream uses.
 */
export interface EventContract<Type extends string = string, D extends TSchema = TSchema, P extends string[] = string[]> {
  readonly kind: "event";
  readonly type: Type;
  readonly data: D;
  readonly message: ReturnType<typeof Message<Type, D>>;
  subject(namespace: string, ...params: P): string;
  pattern(namespace: string): string;
}

export function defineEvent<Type extends string, D extends TSchema, P extends string[]>(
  type: Type,
  data: D,
  subject: (namespace: string, ...params: P) => string,
  pattern: (namespace: string) => string,
): EventContract<Type, D, P> {
  return { kind: "event", type, data, message: Message(type, data), subject, pattern };
}

export type EventData<C> = C extends EventContract<string, infer D> ? Static<D> : never;

/** A JetStream stream declared in code and created idempotently at start-up. */
export interface StreamSpec {
  /** Stream name, derived from the namespace (NATS stream names may not contain dots). */
  name(namespace: string): string;
  subjects(namespace: string): string[];
  retention: "workqueue" | "limits" | "interest";
  /** Seconds JetStream remembers message ids for de-duplication. */
  duplicateWindowSeconds: number;
  /** Maximum age of a message in seconds (0 = forever). */
  maxAgeSeconds: number;
  /**
   * Copies JetStream keeps of each message, on as many servers of a cluster (1 when absent; 3 lets
   * the stream and its consumers survive the loss of one node). Its consumers inherit it.
   */
  replicas?: number;
}

/** A durable pull consumer shared by every worker of one service. */
export interface ConsumerSpec {
  stream: StreamSpec;
  durable: string;
  /** Seconds before an un-acked (and un-heartbeated) message is redelivered. */
  ackWaitSeconds: number;
  maxDeliver: number;
  /** Backoff between redeliveries after a `nak`, in seconds, by attempt. */
  backoffSeconds: number[];
  filterSubject?(namespace: string): string;
}

/** Turns a namespace such as `skyferry.test-1` into a token usable in stream names. */
export function streamToken(namespace: string): string {
  return namespace.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}
