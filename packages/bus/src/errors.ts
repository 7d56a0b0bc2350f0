import { GalaxyCode, SkyferryError, unavailable } from "@skyferry/errors";

export const busTimeout = (subject: string, ms: number) =>
  unavailable("BUS_TIMEOUT", `No reply on ${subject} within ${ms} ms.`);

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
