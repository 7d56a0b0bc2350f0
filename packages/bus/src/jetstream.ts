import { setMaxListeners } from "node:events";
import type { Static, TSchema } from "@sinclair/typebox";
import type { ConsumerSpec, EventContract, StreamSpec } from "@skyferry/contracts";
import { isRetryable } from "@skyferry/errors";
import {
  AckPolicy,
  ConsumerEvents,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  nanos,
  NatsError,
  RetentionPolicy,
  StorageType,
} from "nats";
import { assertValid, decodeEnvelope, type Envelope, encode, envelope } from "./codec.ts";
import { Semaphore } from "./semaphore.ts";
import type { BusLogger } from "./types.ts";
import { contextOf, inSpan, SpanKind, spanSubject, traceHeaders, tracerFor, type Tracer } from "./tracing.ts";

const RETENTION = {
  workqueue: RetentionPolicy.Workqueue,
  limits: RetentionPolicy.Limits,
  interest: RetentionPolicy.Interest,
} as const;

/** Creates the stream, or updates its subjects; safe to call from every instance at start-up. */
export async function ensureStream(jsm: JetStreamManager, namespace: string, spec: StreamSpec): Promise<void> {
  const name = spec.name(namespace);
  const config = {
    name,
    subjects: spec.subjects(namespace),
    retention: RETENTION[spec.retention],
    storage: StorageType.File,
    duplicate_window: nanos(spec.duplicateWindowSeconds * 1000),
    max_age: nanos(spec.maxAgeSeconds * 1000),
    num_replicas: spec.replicas ?? 1,
  };
  try {
    await jsm.streams.info(name);
    // A changed replica count is applied too: JetStream moves a clustered stream's copies itself.
    await jsm.streams.update(name, { subjects: config.subjects, duplicate_window: config.duplicate_window, max_age: config.max_age, num_replicas: config.num_replicas });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // Another instance created it between our info and add: fine.
      if (!(addErr instanceof NatsError && /already in use|exists/i.test(addErr.message))) throw addErr;
    }
  }
}

export async function ensureConsumer(jsm: JetStreamManager, namespace: string, spec: ConsumerSpec): Promise<void> {
  const stream = spec.stream.name(namespace);
  const config = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(spec.ackWaitSeconds * 1000),
    max_deliver: spec.maxDeliver,
    ...(spec.filterSubject ? { filter_subject: spec.filterSubject(namespace) } : {}),
  };
  try {
    await jsm.consumers.info(stream, spec.durable);
    await jsm.consumers.update(stream, spec.durable, { ack_wait: config.ack_wait, max_deliver: config.max_deliver });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.consumers.add(stream, config);
    } catch (addErr) {
      if (!(addErr instanceof NatsError && /already (in use|exists)/i.test(addErr.message))) throw addErr;
    }
  }
}

export async function streamExists(jsm: JetStreamManager, namespace: string, spec: StreamSpec): Promise<boolean> {
  try {
    await jsm.streams.info(spec.name(namespace));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function consumerExists(jsm: JetStreamManager, namespace: string, spec: ConsumerSpec): Promise<boolean> {
  try {
    await jsm.consumers.info(spec.stream.name(namespace), spec.durable);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export interface EnqueueResult {
  seq: number;
  /** True when JetStream had already seen this message id (a re-publish). */
  duplicate: boolean;
}

/** Publishes a work item or durable event with a message id so re-publishes are de-duplicated. */
export async function enqueue<D extends TSchema, P extends string[]>(
  js: JetStreamClient,
  namespace: string,
  contract: EventContract<string, D, P>,
  params: P,
  data: Static<D>,
  msgId: string,
  tracer: Tracer = tracerFor("bus"),
): Promise<EnqueueResult> {
  const message = envelope(contract.type, data, msgId);
  assertValid(contract.message, message);
  const subject = contract.subject(namespace, ...params);
  // The work message carries the publisher's trace context: its handler's span joins the trace.
  return inSpan(tracer, `${spanSubject(namespace, contract.pattern(namespace))} publish`, { "messaging.system": "nats", "messaging.destination.name": subject, "messaging.message.id": msgId }, async () => {
    const headers = traceHeaders();
    const ack = await js.publish(subject, encode(message), { msgID: msgId, ...(headers ? { headers } : {}) });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }, { kind: SpanKind.PRODUCER });
}

export interface WorkContext {
  /** 1 on first delivery; grows with each redelivery. */
  deliveryCount: number;
  /** True when JetStream will not deliver this message again if it is handed back. */
  lastAttempt: boolean;
  messageId: string;
  subject: string;
  /** Aborted when the worker is stopping; long handlers should hand work back promptly. */
  signal: AbortSignal;
}

/** What a handler may return instead of completing: hand the message back after a delay. */
export interface Retry {
  retryAfterMs: number;
}

export type WorkHandler<D extends TSchema> = (data: Static<D>, ctx: WorkContext) => Promise<void | Retry>;

export interface WorkOptions {
  concurrency: number;
  /** Backoff for a retryable failure, by delivery count (ms). */
  backoffMs?: (deliveryCount: number) => number;
  /** Each message's handler runs in a span of this tracer (the service's), in the publisher's trace. */
  tracer?: Tracer;
}

export interface Worker {
  readonly inFlight: number;
  /** The consume loop is running: false once it ended (an error, the consumer deleted) or `stop` was called. */
  readonly consuming: boolean;
  /** Settles when the consume loop has ended, for whatever reason (a supervisor starts another). */
  readonly ended: Promise<void>;
  /**
   * Stops pulling and hands back messages not yet started; lets running handlers finish for up
   * to `graceMs`, then aborts them (their messages are handed back) and waits.
   */
  stop(graceMs?: number): Promise<void>;
}

const defaultBackoff = (n: number) => Math.min(1000 * 2 ** (n - 1), 60_000);

/**
 * How long each pull request waits on the server. A pull waits at the consumer's leader, and a
 * leader that dies takes its waiting pulls with it: nats.js pulls again only after two idle
 * heartbeats (half of this each) go missing. At nats.js's default, 30 s, losing the NATS node that
 * led the consumer stopped every worker for 30-40 s (npm run bench:scale, issue 22); at 5 s they
 * pull again within ~5 s. The cost: an idle worker's pull is renewed every 5 s.
 */
export const PULL_EXPIRES_MS = 5_000;

/**
 * Runs `handler` for messages of a durable pull consumer, at most `concurrency` at once.
 * Outcomes: return → ack; return `{retryAfterMs}` or throw a retryable error → nak with backoff;
 * throw anything else, or an invalid message → term with the reason. While a handler runs the
 * message is kept alive with `working()` heartbeats.
 */
export async function work<D extends TSchema>(
  js: JetStreamClient,
  namespace: string,
  logger: BusLogger,
  spec: ConsumerSpec,
  contract: EventContract<string, D, string[]>,
  handler: WorkHandler<D>,
  options: WorkOptions,
): Promise<Worker> {
  const consumer = await js.consumers.get(spec.stream.name(namespace), spec.durable);
  const tracer = options.tracer ?? tracerFor("bus");
  const limit = new Semaphore(options.concurrency);
  const backoff = options.backoffMs ?? defaultBackoff;
  const abort = new AbortController();
  // Each running handler may listen for the stop (`ctx.signal`): up to `concurrency` listeners are
  // expected, not a leak (Node warns past 10).
  setMaxListeners(options.concurrency + 10, abort.signal);
  const running = new Set<Promise<void>>();
  const heartbeatMs = Math.max(250, Math.floor((spec.ackWaitSeconds * 1000) / 3));
  let messages: ConsumerMessages | undefined;
  let stopping = false;

  const handle = async (m: JsMsg): Promise<void> => {
    const beat = setInterval(() => m.working(), heartbeatMs);
    const ctx = {
      deliveryCount: m.info.deliveryCount,
      lastAttempt: m.info.deliveryCount >= spec.maxDeliver,
      messageId: "unknown",
      subject: m.subject,
      signal: abort.signal,
    };
    try {
      let msg: Envelope;
      try {
        msg = decodeEnvelope(contract.message, m.data);
      } catch (err) {
        logger.error({ err, subject: m.subject }, "invalid message terminated");
        // No reason string: nats-server 2.9 ignores "+TERM <reason>" and would redeliver.
        m.term();
        return;
      }
      ctx.messageId = msg.id;
      const result = await inSpan(tracer, `${spanSubject(namespace, contract.pattern(namespace))} process`, {
        "messaging.system": "nats", "messaging.destination.name": m.subject, "messaging.message.id": msg.id, "messaging.delivery_count": ctx.deliveryCount,
      }, () => handler(msg.data as Static<D>, ctx), { kind: SpanKind.CONSUMER, parent: contextOf(m.headers) });
      if (result && "retryAfterMs" in result) m.nak(result.retryAfterMs);
      else m.ack();
    } catch (err) {
      if (abort.signal.aborted) {
        // Shutting down: hand the message back so another worker resumes it (see HAND_BACK_DELAY_MS).
        m.nak(HAND_BACK_DELAY_MS);
      } else if (isRetryable(err)) {
        const delay = backoff(ctx.deliveryCount);
        logger.warn({ err, subject: m.subject, message_id: ctx.messageId, delay_ms: delay }, "work failed; will retry");
        m.nak(delay);
      } else {
        logger.error({ err, subject: m.subject, message_id: ctx.messageId }, "work failed permanently; terminated");
        m.term();
      }
    } finally {
      clearInterval(beat);
    }
  };

  const loop = async () => {
    // `expires`: see PULL_EXPIRES_MS.
    const consumed = await consumer.consume({ max_messages: options.concurrency, expires: PULL_EXPIRES_MS });
    messages = consumed;
    // nats.js keeps pulling from a consumer that was deleted (or whose stream was), quietly taking
    // nothing: such a loop is ended here instead, so the worker says it is not consuming and its
    // owner starts another once the consumer exists again.
    void (async () => {
      for await (const s of await consumed.status()) {
        if (s.type === ConsumerEvents.ConsumerDeleted || s.type === ConsumerEvents.ConsumerNotFound || s.type === ConsumerEvents.StreamNotFound) {
          if (!stopping) logger.error({ durable: spec.durable, status: s.type }, "the work consumer is gone; its consume loop stops");
          consumed.stop();
          return;
        }
      }
    })().catch(() => undefined);
    for await (const m of consumed) {
      if (stopping) {
        m.nak(HAND_BACK_DELAY_MS);
        continue;
      }
      await limit.acquire();
      if (stopping) {
        limit.release();
        m.nak(HAND_BACK_DELAY_MS);
        continue;
      }
      const p = handle(m).finally(() => {
        limit.release();
        running.delete(p);
      });
      running.add(p);
    }
  };
  let looping = true;
  const done = loop()
    .then(
      () => {
        if (!stopping) logger.error({ durable: spec.durable }, "consumer loop ended (the consumer was deleted or its iterator closed)");
      },
      (err: unknown) => logger.error({ err, durable: spec.durable }, "consumer loop ended with an error"),
    )
    .finally(() => {
      looping = false;
    });

  return {
    get inFlight() {
      return running.size;
    },
    get consuming() {
      return looping && !stopping;
    },
    ended: done,
    async stop(graceMs = 10_000) {
      stopping = true;
      // The grace starts now, not once the message iterator has closed: that close settles only
      // when the loop can take its next message, which with every slot busy is when a running
      // handler ends, so a busy worker would otherwise run its work to the end, however long.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      const closed = messages?.close().catch(() => undefined);
      await Promise.race([Promise.allSettled([...running]), grace]);
      clearTimeout(timer);
      abort.abort();
      await Promise.allSettled([...running]);
      await closed;
      await done;
    },
  };
}

/**
 * How long work handed back by a stopping worker waits before it is delivered again. Not 0: the
 * stopping worker's pull requests stay open on the server until its connection closes (a pull
 * cannot be cancelled), and a message nak'd without delay was measured going straight back into one
 * of them, where no one ran it until the ack wait ran out. The worker closes its connection after
 * its HTTP server, its subscriptions and NATS have drained, which takes seconds under load (2 s was
 * once too short on a machine running two test suites at once; 5 s too short in CI after the
 * outbound policy and the data layer of issues 19 and 21: a job sat out the ack wait, twice);
 * then the message goes to another worker. 10 s stays above the 8 s a drained worker may take to
 * exit (test/integration/transfer-drain.test.ts).
 */
export const HAND_BACK_DELAY_MS = 10_000;

function isNotFound(err: unknown): boolean {
  return err instanceof NatsError && (err.api_error?.err_code === 10059 || err.api_error?.err_code === 10014 || /not found/i.test(err.message));
}
