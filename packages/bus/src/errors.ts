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

export const busMessageInvalid = (field: string, detail: string) =>
  new SkyferryError("BUS_MESSAGE_INVALID", `Invalid message: ${field}: ${detail}`, {
    status: 400,
    errCode: GalaxyCode.invalid,
    field,
  });
