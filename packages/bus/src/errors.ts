import { causeChain, GalaxyCode, SkyferryError, unavailable } from "@skyferry/errors";

export const busTimeout = (subject: string, ms: number) =>
  unavailable("BUS_TIMEOUT", `No reply on ${subject} within ${ms} ms.`);

/** The connection dropped while replies were awaited: some may be lost; asking again is safe for an idempotent request. */
export const busDisconnected = (subject: string) =>
  unavailable("BUS_DISCONNECTED", `The connection to NATS dropped while waiting for replies on ${subject}; try again.`);

export const busNoResponders = (subject: string) =>
  unavailable("BUS_NO_RESPONDERS", `No service is answering ${subject}.`);

export const busReplyInvalid = (subject: string, detail: string) =>
  new SkyferryError("BUS_REPLY_INVALID", `Invalid reply on ${subject}: ${detail}`, {
    status: 502,
    errCode: GalaxyCode.internal,
  });

/** A one-reply answer larger than the NATS server takes in one message (a `replies: "many"` operation has no such limit). */
export const busReplyTooLarge = (subject: string, bytes: number, max: number) =>
  new SkyferryError("BUS_REPLY_TOO_LARGE", `The reply on ${subject} is ${bytes} bytes, more than one NATS message may carry (${max}).`, {
    status: 500,
    errCode: GalaxyCode.internal,
  });

export const busMessageInvalid = (field: string, detail: string) =>
  new SkyferryError("BUS_MESSAGE_INVALID", `Invalid message: ${field}: ${detail}`, {
    status: 400,
    errCode: GalaxyCode.invalid,
    field,
  });

/** nats.js error codes of a connection that is down, closing or reconnecting, or a request left unanswered. */
const TRANSIENT_NATS_CODES = new Set(["TIMEOUT", "503", "CONNECTION_CLOSED", "CONNECTION_DRAINING", "DISCONNECT", "CONNECTION_REFUSED", "CONNECTION_TIMEOUT"]);

/**
 * True when `err` (or a cause) says NATS could not carry the message now: no reply in time, no
 * responders, the connection closed, draining or reconnecting. A permission or validation error is
 * not. The coded bus errors (BUS_TIMEOUT, BUS_NO_RESPONDERS) are retryable already.
 */
export function isTransientBusError(err: unknown): boolean {
  for (const e of causeChain(err)) {
    const s = e as { name?: unknown; code?: unknown };
    if (s.name === "NatsError" && typeof s.code === "string" && TRANSIENT_NATS_CODES.has(s.code)) return true;
  }
  return false;
}

/** A handler failed because a dependency of the serving service is down (its database, say): the caller may try again. */
export const serviceUnavailable = (subject: string, cause: unknown) =>
  unavailable("SERVICE_UNAVAILABLE", `The service answering ${subject} cannot reach a dependency; try again.`, cause);
