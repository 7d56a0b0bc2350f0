import { SkyferryError, notFound, unauthorized, conflict } from "@skyferry/errors";

// Coded errors of the authz service (AUTHZ_…). Sign-in, sessions, keys and identities are here;
// cloud authorizations add theirs below.

/** Unknown, revoked or superseded API key: Galaxy's 401001. */
export const keyInvalid = () => unauthorized("AUTHZ_KEY_INVALID", "Provided API key is not valid.");

export const sessionInvalid = () => unauthorized("AUTHZ_SESSION_INVALID", "Your session has expired or ended; sign in again.");

/** Anything in a sign-in that does not verify: state, code, ID token (signature, iss, aud, exp, nonce). */
export const loginFailed = (reason: string, cause?: unknown) =>
  new SkyferryError("AUTHZ_LOGIN_FAILED", `Sign-in failed: ${reason}`, { status: 401, errCode: 401001, cause });

export const providerUnknown = (name: string) =>
  notFound("AUTHZ_PROVIDER_UNKNOWN", `No sign-in provider named '${name}' is configured.`);

export const providerUnavailable = (name: string, cause?: unknown) =>
  new SkyferryError("AUTHZ_PROVIDER_UNAVAILABLE", `The sign-in provider '${name}' could not be reached; try again shortly.`, {
    status: 503,
    errCode: 503001,
    retryable: true,
    cause,
  });

/** The identity's ID token expired and could not be refreshed: the user must sign in again. */
export const needsReauth = (reason: string, cause?: unknown) =>
  new SkyferryError("AUTHZ_NEEDS_REAUTH", `The sign-in for this identity has expired and could not be renewed (${reason}); sign in again with the provider.`, {
    status: 401,
    errCode: 401001,
    cause,
  });

export const identityNotFound = () => notFound("AUTHZ_IDENTITY_NOT_FOUND", "No such identity.");

export const identityTaken = () => conflict("AUTHZ_IDENTITY_TAKEN", "This identity is already connected to another account.");

export const userNotFound = () => notFound("AUTHZ_USER_NOT_FOUND", "No such user.");

export const keyExists = () =>
  conflict("AUTHZ_KEY_EXISTS", "An API key exists; it was shown once when it was created. POST to create a new one (the old key stops working).");
