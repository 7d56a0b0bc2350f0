import { GalaxyCode, notFound, SkyferryError } from "@skyferry/errors";

// Coded errors of cloud authorizations (AUTHZ_CLOUD_…); provider refusals are in the provider modules.

/** Unknown id and another user's id look the same (Galaxy answered 500 for both). */
export const authzNotFound = () => notFound("AUTHZ_CLOUD_NOT_FOUND", "An authorization configuration with given ID not found.");

/** `authn_id` names no identity of the caller. */
export const authnNotFound = (id: string) => notFound("AUTHZ_IDENTITY_NOT_FOUND", `No identity with authn_id '${id.slice(0, 64)}' among yours (see GET /authnz/).`);

/** Galaxy's ActionInputError (400) for an exact duplicate. */
export const duplicateAuthz = (existingId: string) =>
  new SkyferryError("AUTHZ_CLOUD_DUPLICATE", `A similar cloud authorization configuration is already defined (id ${existingId}).`, {
    status: 400,
    errCode: GalaxyCode.invalid,
  });
