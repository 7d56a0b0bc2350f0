import type { Static, TSchema } from "@sinclair/typebox";
import type { ConsumerSpec, EventContract, RpcContract, StreamSpec } from "@skyferry/contracts";
import { Events, type NatsConnection, type Subscription } from "nats";
import { assertValid, decodeEnvelope, encode, envelope } from "./codec.ts";
import { asPermissionError, connectNats, type NatsCredentials } from "./connect.ts";
import {
  consumerExists,
  type EnqueueResult,
  enqueue,
  ensureConsumer,
  ensureStream,
  streamExists,
  type WorkHandler,
  type Worker,
  type WorkOptions,
  work,
} from "./jetstream.ts";
import { type RequestOptions, type RpcHandler, type RpcPagesHandler, type ServeOptions, request, requestMany, serve, serveMany } from "./rpc.ts";
import type { BusLogger } from "./types.ts";
import { tracerFor } from "./tracing.ts";

export interface BusOptions {
  /** NATS server URL(s), comma-separated. */
  url: string;
  /** Subject prefix isolating one deployment (or one test) from another. */
  namespace: string;
  /** This service's name: the default queue group and the connection name. */
  service: string;
  /**
   * Who this connection authenticates as (its NATS permissions, its inbox `_INBOX.<identity>.`).
   * Defaults to `service`; a test's own client connecting with the stack's `operator` seed names it.
   */
  identity?: string;
  /** The seed (or creds) and TLS files this connection uses (docs/trust.md); no anonymous connection. */
  credentials: NatsCredentials;
  logger: BusLogger;
  /** A served handler's failure that means a dependency is down (see `ServeOptions.isUnavailable`). */
  isUnavailable?: (err: unknown) => boolean;
  /** Told the subject, outcome (`ok` or the error's code) and duration of every request made (the service's metrics). */
  observe?: { request(subject: string, outcome: string, seconds: number): void };
}

export interface Bus {
  readonly namespace: string;
  readonly connection: NatsConnection;
  request<Req extends TSchema, Res extends TSchema>(
    contract: RpcContract<string, Req, Res>,
    data: Static<Req>,
    options?: RequestOptions,
  ): Promise<Static<Res>>;
  serve<Req extends TSchema, Res extends TSchema>(
    contract: RpcContract<string, Req, Res>,
    handler: RpcHandler<Req, Res>,
    options?: ServeOptions,
  ): Subscription;
  /** A `replies: "many"` request: its pages as they arrive (see `requestMany` in rpc.ts). */
  requestMany<Req extends TSchema, Res extends TSchema>(
    contract: RpcContract<string, Req, Res>,
    data: Static<Req>,
    options?: RequestOptions,
  ): AsyncGenerator<Static<Res>, void, undefined>;
  /** Serves a `replies: "many"` operation: the handler yields the pages. */
  serveMany<Req extends TSchema, Res extends TSchema>(
    contract: RpcContract<string, Req, Res>,
    handler: RpcPagesHandler<Req, Res>,
    options?: ServeOptions,
  ): Subscription;
  /** Fire-and-forget event on core NATS (progress, notifications). Validated before it leaves. */
  emit<D extends TSchema, P extends string[]>(contract: EventContract<string, D, P>, params: P, data: Static<D>): void;
  /** Subscribes to events on `subject` (a concrete subject or the contract's pattern); invalid events are logged and dropped. */
  on<D extends TSchema>(
    contract: EventContract<string, D, string[]>,
    subject: string,
    handler: (data: Static<D>, subject: string) => void,
  ): Subscription;
  enqueue<D extends TSchema, P extends string[]>(
    contract: EventContract<string, D, P>,
    params: P,
    data: Static<D>,
    msgId: string,
  ): Promise<EnqueueResult>;
  ensureStream(spec: StreamSpec): Promise<void>;
  ensureConsumer(spec: ConsumerSpec): Promise<void>;
  hasStream(spec: StreamSpec): Promise<boolean>;
  hasConsumer(spec: ConsumerSpec): Promise<boolean>;
  /**
   * Messages of the durable consumer not yet delivered to any worker (`pending`) and delivered but
   * not yet acknowledged (`ackPending`: running, or handed back to wait out a delay).
   */
  consumerBacklog(spec: ConsumerSpec): Promise<{ pending: number; ackPending: number }>;
  work<D extends TSchema>(
    spec: ConsumerSpec,
    contract: EventContract<string, D, string[]>,
    handler: WorkHandler<D>,
    options: WorkOptions,
  ): Promise<Worker>;
  isConnected(): boolean;
  /** Drains subscriptions (in-flight replies finish) and closes. */
  drain(): Promise<void>;
}

export async function createBus(options: BusOptions): Promise<Bus> {
  const { namespace, logger } = options;
  const nc = await connectNats(
    { url: options.url, name: `skyferry-${options.service}`, identity: options.identity ?? options.service, credentials: options.credentials },
    {
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // nats.js otherwise captures a stack (`new Error()`) for every request, a JetStream publish's
      // ack included: one per job queued. Errors still say which request failed; they lose the
      // caller's async frames.
      noAsyncTraces: true,
    },
    logger,
  );
  // Aborted at each disconnect (and replaced): a request awaiting many replies fails at once then.
  let connectionLost = new AbortController();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect) {
        connectionLost.abort();
        connectionLost = new AbortController();
      }
      // A publish or subscription the server refused under this identity's permissions: requests
      // fail at once with BUS_PERMISSION_DENIED; an event published there is only reported here.
      if (s.type === Events.Error && s.permissionContext) {
        logger.error({ nats_status: s.type, data: String(s.data), permission: s.permissionContext }, "nats refused an operation (permissions)");
      } else {
        logger.info({ nats_status: s.type, data: String(s.data) }, "nats status");
      }
    }
  })();
  const js = nc.jetstream();
  // No `$JS.API.INFO` check at start: most identities may use no JetStream API at all.
  const jsm = await nc.jetstreamManager({ checkAPI: false });
  const denied = <T>(p: Promise<T>, subject: string): Promise<T> => p.catch((err: unknown) => Promise.reject(asPermissionError(err, subject)));

  const observe = options.observe;
  // This service's spans (requests made and served, work published and run): no-ops unless tracing is on.
  const tracer = tracerFor(options.service);
  const timed = <T>(subject: string, p: Promise<T>): Promise<T> => {
    if (!observe) return p;
    const t0 = performance.now();
    const seen = (outcome: string) => observe.request(subject, outcome, (performance.now() - t0) / 1000);
    return p.then(
      (v) => {
        seen("ok");
        return v;
      },
      (err: unknown) => {
        seen(errorCode(err));
        throw err;
      },
    );
  };

  return {
    namespace,
    connection: nc,
    request: (contract, data, opts) => {
      const subject = contract.subject(namespace);
      return timed(subject, denied(request(nc, namespace, contract, data, opts, tracer), subject));
    },
    serve: (contract, handler, opts) => serve(nc, namespace, options.service, logger, contract, handler, { isUnavailable: options.isUnavailable, tracer, ...opts }),
    requestMany: (contract, data, opts) => {
      const subject = contract.subject(namespace);
      const pages = deniedPages(requestMany(nc, namespace, contract, data, opts, tracer, connectionLost.signal), subject);
      return observe ? timedPages(pages, (outcome, seconds) => observe.request(subject, outcome, seconds)) : pages;
    },
    serveMany: (contract, handler, opts) => serveMany(nc, namespace, options.service, logger, contract, handler, { isUnavailable: options.isUnavailable, tracer, ...opts }),
    emit(contract, params, data) {
      const message = envelope(contract.type, data);
      assertValid(contract.message, message);
      nc.publish(contract.subject(namespace, ...params), encode(message));
    },
    on(contract, subject, handler) {
      return nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) {
            logger.warn({ err, subject }, "event subscription error");
            return;
          }
          try {
            const m = decodeEnvelope(contract.message, msg.data);
            handler(m.data as Static<typeof contract.data>, msg.subject);
          } catch (e) {
            logger.warn({ err: e, subject: msg.subject }, "invalid event dropped");
          }
        },
      });
    },
    enqueue: (contract, params, data, msgId) => denied(enqueue(js, namespace, contract, params, data, msgId, tracer), contract.subject(namespace, ...params)),
    ensureStream: (spec) => denied(ensureStream(jsm, namespace, spec), `$JS.API.STREAM.*.${spec.name(namespace)}`),
    ensureConsumer: (spec) => denied(ensureConsumer(jsm, namespace, spec), `$JS.API.CONSUMER.*.${spec.stream.name(namespace)}.${spec.durable}`),
    hasStream: (spec) => denied(streamExists(jsm, namespace, spec), `$JS.API.STREAM.INFO.${spec.name(namespace)}`),
    hasConsumer: (spec) => denied(consumerExists(jsm, namespace, spec), `$JS.API.CONSUMER.INFO.${spec.stream.name(namespace)}.${spec.durable}`),
    consumerBacklog: (spec) =>
      denied(
        jsm.consumers.info(spec.stream.name(namespace), spec.durable).then((i) => ({ pending: i.num_pending, ackPending: i.num_ack_pending })),
        `$JS.API.CONSUMER.INFO.${spec.stream.name(namespace)}.${spec.durable}`,
      ),
    work: (spec, contract, handler, opts) =>
      denied(work(js, namespace, logger, spec, contract, handler, { tracer, ...opts }), `$JS.API.CONSUMER.INFO.${spec.stream.name(namespace)}.${spec.durable}`),
    isConnected: () => !nc.isClosed() && !nc.isDraining(),
    async drain() {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}

/** The pages of a paged request, told once its last page came (or it failed): one observation per request. */
async function* timedPages<T>(pages: AsyncGenerator<T, void, undefined>, seen: (outcome: string, seconds: number) => void): AsyncGenerator<T, void, undefined> {
  const t0 = performance.now();
  try {
    yield* pages;
    seen("ok", (performance.now() - t0) / 1000);
  } catch (err) {
    seen(errorCode(err), (performance.now() - t0) / 1000);
    throw err;
  }
}

async function* deniedPages<T>(pages: AsyncGenerator<T, void, undefined>, subject: string): AsyncGenerator<T, void, undefined> {
  try {
    yield* pages;
  } catch (err) {
    throw asPermissionError(err, subject);
  }
}

/** A failure's code for metrics: ours (`BUS_TIMEOUT`, `NOT_FOUND`, ...), NATS' own, or `error`. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : "error";
}
