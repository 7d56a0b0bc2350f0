import type { Static, TSchema } from "@sinclair/typebox";
import { hasSignedActor, type RpcContract } from "@skyferry/contracts";
import { type ErrorBody, SkyferryError, fromErrorBody, internal, isSkyferryError } from "@skyferry/errors";
import { Empty, ErrorCode, type Msg, type NatsConnection, NatsError, RequestStrategy, type Subscription } from "nats";
import { assertValid, decodeEnvelope, decodeReply, encode, envelope, type ReplyEnvelope } from "./codec.ts";
import { busDisconnected, busNoResponders, busReplyInvalid, busReplyTooLarge, busTimeout, serviceUnavailable } from "./errors.ts";
import { Semaphore } from "./semaphore.ts";
import type { Bus } from "./bus.ts";
import type { BusLogger } from "./types.ts";
import { contextOf, inSpan, markFailed, SpanKind, spanSubject, traceHeaders, tracerFor, type Tracer } from "./tracing.ts";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";

export interface RequestOptions {
  timeoutMs?: number;
}

export async function request<Req extends TSchema, Res extends TSchema>(
  nc: NatsConnection,
  namespace: string,
  contract: RpcContract<string, Req, Res>,
  data: Static<Req>,
  options: RequestOptions = {},
  tracer: Tracer = tracerFor("bus"),
): Promise<Static<Res>> {
  const subject = contract.subject(namespace);
  const timeout = options.timeoutMs ?? 5000;
  const payload = requestPayload(contract, data, "one");
  return inSpan(tracer, `${spanSubject(namespace, subject)} request`, { "messaging.system": "nats", "messaging.destination.name": subject }, async () => {
    let reply: Msg;
    try {
      const headers = traceHeaders();
      reply = await nc.request(subject, payload, { timeout, ...(headers ? { headers } : {}) });
    } catch (err) {
      throw natsFailure(err, subject, timeout);
    }
    return replyData(contract, subject, reply.data);
  }, { kind: SpanKind.CLIENT });
}

/**
 * Requests a `replies: "many"` operation: its pages, in the order sent, as they arrive; the
 * server's error reply is thrown where it comes. `timeoutMs` (default 30 s) bounds the whole
 * series: a series not ended by then throws BUS_TIMEOUT rather than passing for a short answer.
 */
export async function* requestMany<Req extends TSchema, Res extends TSchema>(
  nc: NatsConnection,
  namespace: string,
  contract: RpcContract<string, Req, Res>,
  data: Static<Req>,
  options: RequestOptions = {},
  tracer: Tracer = tracerFor("bus"),
  connectionLost?: AbortSignal,
): AsyncGenerator<Static<Res>, void, undefined> {
  const subject = contract.subject(namespace);
  const timeout = options.timeoutMs ?? 30_000;
  const payload = requestPayload(contract, data, "many");
  // One client span for the whole series, ended with it; the trace context goes in the headers.
  // (nats.js's own-subscription mode, `noMux`, drops a request's headers in nats 2.29: the shared
  // reply subscription is used, where each request still has a reply subject of its own.)
  const span = tracer.startSpan(`${spanSubject(namespace, subject)} request`, { kind: SpanKind.CLIENT, attributes: { "messaging.system": "nats", "messaging.destination.name": subject } });
  let replies: AsyncIterator<Msg> | undefined;
  try {
    const headers = context.with(trace.setSpan(context.active(), span), () => traceHeaders());
    replies = (await nc.requestMany(subject, payload, { strategy: RequestStrategy.SentinelMsg, maxWait: timeout, ...(headers ? { headers } : {}) }))[Symbol.asyncIterator]();
    for (;;) {
      const next = await unlessLost(replies.next(), connectionLost, subject);
      if (next.done) break;
      const msg = next.value;
      if (msg.data.length === 0) {
        // The server's no-responders status, or the series' end.
        if (msg.headers?.code === 503) throw busNoResponders(subject);
        return;
      }
      yield replyData(contract, subject, msg.data);
    }
  } catch (err) {
    markFailed(span, err);
    throw natsFailure(err, subject, timeout);
  } finally {
    void replies?.return?.();
    span.end();
  }
  // The replies stopped without their end (or the connection closed).
  throw busTimeout(subject, timeout);
}

/**
 * `next`, or BUS_DISCONNECTED once the connection drops: a reply published while this client was
 * away is lost (its subscription is made again on reconnect, for later messages only), so waiting
 * on would end only at the timeout -- 120 s for a send's pages, measured by test/fault/nats-outage.
 */
function unlessLost<T>(next: Promise<T>, lost: AbortSignal | undefined, subject: string): Promise<T> {
  if (!lost) return next;
  if (lost.aborted) return Promise.reject(busDisconnected(subject));
  return new Promise<T>((resolve, reject) => {
    const onLost = () => reject(busDisconnected(subject));
    lost.addEventListener("abort", onLost, { once: true });
    next.then(resolve, reject).finally(() => lost.removeEventListener("abort", onLost));
  });
}
/** The request envelope, validated on publish: a malformed request is the caller's bug, reported before it leaves. */
function requestPayload<Req extends TSchema, Res extends TSchema>(contract: RpcContract<string, Req, Res>, data: Static<Req>, replies: RpcContract["replies"]): Uint8Array {
  if (contract.replies !== replies) throw internal("BUS_CONTRACT_MISUSED", `${contract.name} has ${contract.replies} replies; it was requested as having ${replies}.`);
  const message = envelope(contract.requestType, data);
  assertValid(contract.request, message);
  return encode(message);
}

function natsFailure(err: unknown, subject: string, timeout: number): unknown {
  if (err instanceof NatsError && err.code === ErrorCode.NoResponders) return busNoResponders(subject);
  if (err instanceof NatsError && err.code === ErrorCode.Timeout) return busTimeout(subject, timeout);
  return err;
}

/** One reply's data; an error reply is thrown as the error it carries. */
function replyData<Req extends TSchema, Res extends TSchema>(contract: RpcContract<string, Req, Res>, subject: string, bytes: Uint8Array): Static<Res> {
  let parsed: ReplyEnvelope;
  try {
    parsed = decodeReply(contract.reply, bytes);
  } catch (err) {
    throw busReplyInvalid(subject, isSkyferryError(err) ? err.message : String(err));
  }
  if (parsed.ok) return parsed.data as Static<Res>;
  throw fromErrorBody(parsed.error);
}

export interface ServeContext {
  /** The request envelope's id, for log correlation. */
  messageId: string;
  /** The HTTP request's id (the gateway's `x-request-id`), from the verified actor assertion, when the request acts for a user. */
  requestId?: string;
}

export type RpcHandler<Req extends TSchema, Res extends TSchema> = (
  data: Static<Req>,
  ctx: ServeContext,
) => Promise<Static<Res>>;

/**
 * Verifies a request's actor assertion (`@skyferry/actor`'s ActorVerifier fits): resolves when
 * `assertion` is the gateway's, unexpired, for this deployment and for `actor.user_id`; otherwise
 * throws a coded 401/403 (BUS_ACTOR_*) whose message never contains the token.
 */
export interface ActorCheck {
  verify(assertion: string | undefined, actor: { user_id: string }): Promise<unknown>;
}

export interface ServeOptions {
  /** Queue group; every instance of a service shares its requests. Defaults to the service name. */
  queue?: string;
  /** Handlers running at once on this instance. */
  concurrency?: number;
  /**
   * Tells a handler's failure that means a dependency is down (the service's database unreachable):
   * answered as SERVICE_UNAVAILABLE (503, retryable) instead of an internal error, so the caller's
   * retry policy sees a transient fault. Set for every subscription by `BusOptions.isUnavailable`.
   */
  isUnavailable?: ((err: unknown) => boolean) | undefined;
  /**
   * Verifies the actor of every request whose contract has a signed `actor` (docs/trust.md), once
   * per request, before the handler runs. Serving such a contract without one is refused.
   */
  actorCheck?: ActorCheck;
  /** Spans of served requests go to this tracer (the service's); by default one named after the queue. */
  tracer?: Tracer;
}

/**
 * The bus with every `serve`/`serveMany` verifying actor assertions with `check`: what a service
 * hands its handlers, so none of them can serve a user's request unverified.
 */
export function withActorCheck(bus: Bus, check: ActorCheck): Bus {
  return {
    ...bus,
    serve: (contract, handler, opts) => bus.serve(contract, handler, { actorCheck: check, ...opts }),
    serveMany: (contract, handler, opts) => bus.serveMany(contract, handler, { actorCheck: check, ...opts }),
  };
}

export function serve<Req extends TSchema, Res extends TSchema>(
  nc: NatsConnection,
  namespace: string,
  queue: string,
  logger: BusLogger,
  contract: RpcContract<string, Req, Res>,
  handler: RpcHandler<Req, Res>,
  options: ServeOptions = {},
): Subscription {
  return serveWith(nc, namespace, queue, logger, contract, "one", options, async (data, ctx, msg) => {
    const reply = okReply(contract, await handler(data, ctx));
    // Said as such rather than as nats.js's MAX_PAYLOAD_EXCEEDED behind an internal error.
    const max = nc.info?.max_payload;
    if (max !== undefined && reply.length > max) throw busReplyTooLarge(contract.subject(namespace), reply.length, max);
    msg.respond(reply);
  });
}

export type RpcPagesHandler<Req extends TSchema, Res extends TSchema> = (data: Static<Req>, ctx: ServeContext) => AsyncIterable<Static<Res>>;

/**
 * Serves a `replies: "many"` operation: each page the handler yields is sent as it comes, then
 * the empty message that ends the series. A throw sends the error reply, which ends it as well.
 */
export function serveMany<Req extends TSchema, Res extends TSchema>(
  nc: NatsConnection,
  namespace: string,
  queue: string,
  logger: BusLogger,
  contract: RpcContract<string, Req, Res>,
  handler: RpcPagesHandler<Req, Res>,
  options: ServeOptions = {},
): Subscription {
  return serveWith(nc, namespace, queue, logger, contract, "many", options, async (data, ctx, msg) => {
    for await (const page of handler(data, ctx)) msg.respond(okReply(contract, page));
    msg.respond(Empty);
  });
}

function okReply<Req extends TSchema, Res extends TSchema>(contract: RpcContract<string, Req, Res>, data: Static<Res>): Uint8Array {
  const out = { ...envelope(contract.replyType, data), ok: true as const };
  assertValid(contract.reply, out);
  return encode(out);
}

/** The queue-group subscription both kinds share: requests decoded and validated, `concurrency` handled at once, failures answered with an error reply. */
function serveWith<Req extends TSchema, Res extends TSchema>(
  nc: NatsConnection,
  namespace: string,
  queue: string,
  logger: BusLogger,
  contract: RpcContract<string, Req, Res>,
  replies: RpcContract["replies"],
  options: ServeOptions,
  answer: (data: Static<Req>, ctx: ServeContext, msg: Msg) => Promise<void>,
): Subscription {
  const tracer = options.tracer ?? tracerFor(queue);
  if (contract.replies !== replies) throw internal("BUS_CONTRACT_MISUSED", `${contract.name} has ${contract.replies} replies; it was served as having ${replies}.`);
  const subject = contract.subject(namespace);
  const signed = hasSignedActor(contract.requestData);
  const check = options.actorCheck;
  // Fail closed: a user's request is never served without its assertion checked.
  if (signed && !check) throw internal("BUS_ACTOR_CHECK_MISSING", `${contract.name} acts for a user; it cannot be served without an actor check.`);
  const sub = nc.subscribe(subject, { queue: options.queue ?? queue });
  const limit = new Semaphore(options.concurrency ?? 64);
  const inFlight = new Set<Promise<void>>();
  const loop = async () => {
    for await (const msg of sub) {
      await limit.acquire();
      const p = handle(msg).finally(() => {
        limit.release();
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await Promise.allSettled(inFlight);
  };
  // Each request served is a span of the requester's trace (its context in the message's headers).
  const handle = (msg: Msg): Promise<void> =>
    inSpan(tracer, `${spanSubject(namespace, subject)} process`, { "messaging.system": "nats", "messaging.destination.name": subject }, () => handleTraced(msg), { kind: SpanKind.SERVER, parent: contextOf(msg.headers) }).catch(() => undefined);
  const handleTraced = async (msg: Msg): Promise<void> => {
    let messageId = "unknown";
    let requestId: string | undefined;
    try {
      const req = decodeEnvelope(contract.request, msg.data);
      messageId = req.id;
      if (signed && check) await verifyActor(check, req.data, logger, subject, messageId);
      requestId = (req.data as { actor?: { request_id?: string } } | undefined)?.actor?.request_id;
      await answer(req.data as Static<Req>, { messageId, ...(requestId ? { requestId } : {}) }, msg);
    } catch (err) {
      const error = toBody(err, logger, { subject, message_id: messageId, ...(requestId ? { request_id: requestId } : {}) }, options.isUnavailable);
      trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: error.code });
      msg.respond(encode({ ...envelope(contract.replyType, undefined), ok: false as const, error }));
    }
  };
  loop().catch((err: unknown) => logger.error({ err, subject }, "rpc subscription ended with an error"));
  return sub;
}

/** Verifies the request's actor, when it names one (an optional actor's absence is the handler's to refuse). */
async function verifyActor(check: ActorCheck, data: unknown, logger: BusLogger, subject: string, messageId: string): Promise<void> {
  const actor = (data as { actor?: { user_id: string; assertion?: string; request_id?: string } }).actor;
  if (!actor) return;
  try {
    const verified = (await check.verify(actor.assertion, actor)) as { request_id?: unknown } | undefined;
    // The request id the gateway signed, not one written beside the assertion: what logs and jobs record.
    if (typeof verified?.request_id === "string") actor.request_id = verified.request_id;
    else delete actor.request_id;
  } catch (err) {
    // Logged without the token: the code, who the request named, and which request it was.
    const code = isSkyferryError(err) ? err.code : "BUS_ACTOR_INVALID";
    logger.warn({ subject, message_id: messageId, code, user_id: actor.user_id, request_id: actor.request_id }, "actor assertion refused");
    throw err;
  }
}

function toBody(err: unknown, logger: BusLogger, where: { subject: string; message_id: string; request_id?: string }, isUnavailable?: (err: unknown) => boolean): ErrorBody {
  if (err instanceof SkyferryError && err.status < 500) return err.toBody();
  if (!(err instanceof SkyferryError) && isUnavailable?.(err)) {
    logger.warn({ err, ...where }, "rpc handler failed: a dependency is unavailable");
    return serviceUnavailable(where.subject, err).toBody();
  }
  if (err instanceof SkyferryError) {
    logger.error({ err, ...where }, "rpc handler failed");
    return err.toBody();
  }
  logger.error({ err, ...where }, "rpc handler failed unexpectedly");
  return internal("INTERNAL", "Internal error.").toBody();
}
