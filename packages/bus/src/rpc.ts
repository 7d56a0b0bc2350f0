import type { Static, TSchema } from "@sinclair/typebox";
import type { RpcContract } from "@skyferry/contracts";
import { type ErrorBody, SkyferryError, fromErrorBody, internal, isSkyferryError } from "@skyferry/errors";
import { ErrorCode, type Msg, type NatsConnection, NatsError, type Subscription } from "nats";
import { assertValid, decodeEnvelope, decodeReply, encode, envelope, type ReplyEnvelope } from "./codec.ts";
import { busNoResponders, busReplyInvalid, busTimeout } from "./errors.ts";
import { Semaphore } from "./semaphore.ts";
import type { BusLogger } from "./types.ts";

export interface RequestOptions {
  timeoutMs?: number;
}

export async function request<Req extends TSchema, Res extends TSchema>(
  nc: NatsConnection,
  namespace: string,
  contract: RpcContract<string, Req, Res>,
  data: Static<Req>,
  options: RequestOptions = {},
): Promise<Static<Res>> {
  const subject = contract.subject(namespace);
  const timeout = options.timeoutMs ?? 5000;
  const message = envelope(contract.requestType, data);
  // Validate on publish: a malformed request is the caller's bug, reported before it leaves.
  assertValid(contract.request, message);
  let reply: Msg;
  try {
    reply = await nc.request(subject, encode(message), { timeout });
  } catch (err) {
    if (err instanceof NatsError && err.code === ErrorCode.NoResponders) throw busNoResponders(subject);
    if (err instanceof NatsError && err.code === ErrorCode.Timeout) throw busTimeout(subject, timeout);
    throw err;
  }
  let parsed: ReplyEnvelope;
  try {
    parsed = decodeReply(contract.reply, reply.data);
  } catch (err) {
    throw busReplyInvalid(subject, isSkyferryError(err) ? err.message : String(err));
  }
  if (parsed.ok) return parsed.data as Static<Res>;
  throw fromErrorBody(parsed.error);
}

export interface ServeContext {
  /** The request envelope's id, for log correlation. */
  messageId: string;
}

export type RpcHandler<Req extends TSchema, Res extends TSchema> = (
  data: Static<Req>,
  ctx: ServeContext,
) => Promise<Static<Res>>;

export interface ServeOptions {
  /** Queue group; every instance of a service shares its requests. Defaults to the service name. */
  queue?: string;
  /** Handlers running at once on this instance. */
  concurrency?: number;
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
  const subject = contract.subject(namespace);
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
  const handle = async (msg: Msg): Promise<void> => {
    let messageId = "unknown";
    try {
      const req = decodeEnvelope(contract.request, msg.data);
      messageId = req.id;
      const data = await handler(req.data as Static<Req>, { messageId });
      const out = { ...envelope(contract.replyType, data), ok: true as const };
      assertValid(contract.reply, out);
      msg.respond(encode(out));
    } catch (err) {
      const error = toBody(err, logger, subject, messageId);
      msg.respond(encode({ ...envelope(contract.replyType, undefined), ok: false as const, error }));
    }
  };
  loop().catch((err: unknown) => logger.error({ err, subject }, "rpc subscription ended with an error"));
  return sub;
}

function toBody(err: unknown, logger: BusLogger, subject: string, messageId: string): ErrorBody {
  if (err instanceof SkyferryError && err.status < 500) return err.toBody();
  if (err instanceof SkyferryError) {
    logger.error({ err, subject, message_id: messageId }, "rpc handler failed");
    return err.toBody();
  }
  logger.error({ err, subject, message_id: messageId }, "rpc handler failed unexpectedly");
  return internal("INTERNAL", "Internal error.").toBody();
}
