import { GalaxyCode, SkyferryError } from "@skyferry/errors";

// Refusals of an actor assertion. Their messages never contain the token.

/** A request that acts for a user carries no assertion. */
export const actorMissing = () =>
  new SkyferryError("BUS_ACTOR_MISSING", "The request carries no actor assertion.", { status: 401, errCode: GalaxyCode.authRequired });

/** Not a compact JWS, not signed by the gateway's key, or claims of the wrong shape. */
export const actorInvalid = (detail: string) =>
  new SkyferryError("BUS_ACTOR_INVALID", `The actor assertion is invalid: ${detail}.`, { status: 401, errCode: GalaxyCode.authRequired });

export const actorExpired = () =>
  new SkyferryError("BUS_ACTOR_EXPIRED", "The actor assertion has expired.", { status: 401, errCode: GalaxyCode.authRequired });

/** A valid assertion for another deployment (audience) or another user than the request names. */
export const actorForeign = (detail: string) =>
  new SkyferryError("BUS_ACTOR_FOREIGN", `The actor assertion does not match this request: ${detail}.`, { status: 403, errCode: GalaxyCode.forbidden });

/** The key file cannot be read or is not an Ed25519 key of the expected form (start-up). */
export const actorKeyUnusable = (file: string, detail: string) =>
  new SkyferryError("ACTOR_KEY_UNUSABLE", `The actor key ${file} cannot be used: ${detail}.`, { status: 500 });
