import type { ProviderFailure } from "@skyferry/contracts";
import { causeChain } from "@skyferry/errors";
import { StorageError } from "./errors.ts";

/** A provider failure in the fixed vocabulary, with what the provider itself said (status and code only). */
export interface ClassifiedFailure {
  failure: ProviderFailure;
  /** Fixed text for `failure`, never the provider's body or an exception's message. */
  reason: string;
  provider_status?: number;
  provider_code?: string;
}

const TEXT: Record<ProviderFailure, string> = {
  access_denied: "The storage service denied access with these credentials.",
  invalid_credentials: "The storage service did not accept the credentials (wrong key, secret or signature, or expired).",
  credentials_refused: "The identity service refused to issue credentials.",
  expired: "The credentials have expired; update the authorization.",
  needs_reauth: "You need to sign in again with the identity this authorization uses.",
  no_such_bucket: "The bucket (container) does not exist.",
  not_found: "The object or resource was not found.",
  already_exists: "An object with this key already exists.",
  invalid_request: "The storage service refused the request as invalid.",
  integrity: "The storage service reported a checksum mismatch.",
  throttled: "The storage service is throttling requests; try again later.",
  unreachable: "The storage endpoint could not be reached.",
  timeout: "The storage endpoint did not answer in time.",
  tls_error: "The TLS connection to the storage endpoint failed (certificate or protocol).",
  refused_address: "The endpoint's address is not allowed (only public addresses are reachable unless the operator allows it).",
  provider_error: "The storage service failed.",
};

export const failureText = (f: ProviderFailure): string => TEXT[f];

/**
 * The failures that a later attempt may overcome: throttling (429, 503, `SlowDown`), an endpoint
 * unreachable (refused, reset, DNS), a timeout, a provider's 5xx. Every other failure (access
 * denied, no such bucket, invalid credentials or request, an integrity failure, a refused address)
 * stays the same however often it is tried.
 */
export const TRANSIENT_FAILURES: ReadonlySet<ProviderFailure> = new Set<ProviderFailure>(["throttled", "unreachable", "timeout", "provider_error"]);
export const isTransientFailure = (f: ProviderFailure): boolean => TRANSIENT_FAILURES.has(f);

const BUCKET_CODES = new Set(["NoSuchBucket", "ContainerNotFound"]);
const DENIED_CODES = new Set(["AccessDenied", "AllAccessDisabled", "AccountProblem", "AuthorizationFailure", "AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch", "AuthorizationSourceIPMismatch", "AuthorizationProtocolMismatch"]);
const KEY_CODES = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation", "InvalidToken", "ExpiredToken", "TokenRefreshRequired"]);
const THROTTLE_CODES = new Set(["SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "ServerBusy", "OperationTimedOut"]);
const TLS = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|EPROTO$|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME_INVALID)/;
const NET_UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EAI_NODATA", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "REQUEST_SEND_ERROR"]);
const NET_TIMEOUT = new Set(["ETIMEDOUT", "TimeoutError", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "RequestTimeout", "RequestTimeoutException"]);

interface Shape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  details?: { errorCode?: unknown };
  cause?: unknown;
  storageCode?: unknown;
}

/**
 * Names that are no provider's code: error classes, and the SDK's `Unknown` for an answer without
 * a body to read one from (every HEAD: a 403 on HeadObject says only its status).
 */
const NOT_CODES = new Set(["Error", "RestError", "UnknownError", "Unknown"]);
/** A provider's code is shown only when it looks like one (letters, digits, `._-`), never free text. */
const codeLike = (v: unknown): string | undefined => (typeof v === "string" && /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(v) && !NOT_CODES.has(v) ? v : undefined);

/** Walks an error and its causes for the provider's status and code, and network/TLS codes. */
function facts(err: unknown): { status?: number; code?: string; net?: string; refused: boolean } {
  const out: { status?: number; code?: string; net?: string; refused: boolean } = { refused: false };
  for (const e of causeChain(err)) {
    const s = e as Shape;
    if (s.code === "OUTBOUND_REFUSED" || s.storageCode === "OUTBOUND_REFUSED") out.refused = true;
    const status = typeof s.$metadata?.httpStatusCode === "number" ? s.$metadata.httpStatusCode : typeof s.statusCode === "number" ? s.statusCode : undefined;
    out.status ??= status;
    if (status !== undefined) out.code ??= codeLike(s.details?.errorCode) ?? codeLike(s.Code) ?? codeLike(s.code) ?? codeLike(s.name);
    const net = typeof s.code === "string" ? s.code : undefined;
    if (net && (NET_UNREACHABLE.has(net) || NET_TIMEOUT.has(net) || TLS.test(net))) out.net ??= net;
    if (typeof s.name === "string" && NET_TIMEOUT.has(s.name)) out.net ??= s.name;
  }
  return out;
}

/**
 * The network failure `err` (or a cause) carries, from its system or undici code alone -- a
 * connection refused or reset, a DNS failure (`unreachable`), a timeout, a TLS failure -- or
 * undefined when it carries none. For errors that did not come through an adapter (the dataset
 * store's own client, say), where `classifyFailure` would guess `unreachable` for anything.
 */
export function networkFailure(err: unknown): "unreachable" | "timeout" | "tls_error" | undefined {
  const f = facts(err);
  if (!f.net) return undefined;
  if (TLS.test(f.net)) return "tls_error";
  return NET_TIMEOUT.has(f.net) ? "timeout" : "unreachable";
}

/** Classifies an adapter's or SDK's error into the fixed vocabulary, with the provider's status and code. */
export function classifyFailure(err: unknown): ClassifiedFailure {
  const f = facts(err);
  const extra = { ...(f.status !== undefined ? { provider_status: f.status } : {}), ...(f.code ? { provider_code: f.code } : {}) };
  const of = (failure: ProviderFailure): ClassifiedFailure => ({ failure, reason: TEXT[failure], ...extra });
  if (f.refused) return of("refused_address");
  if (f.status === undefined) {
    if (f.net && TLS.test(f.net)) return of("tls_error");
    if (f.net && NET_TIMEOUT.has(f.net)) return of("timeout");
    if (err instanceof StorageError && err.storageCode !== "TRANSIENT" && err.storageCode !== "UNKNOWN") return of(byStorageCode(err.storageCode));
    return of("unreachable");
  }
  const code = f.code ?? "";
  if (BUCKET_CODES.has(code)) return of("no_such_bucket");
  if (DENIED_CODES.has(code)) return of("access_denied");
  if (KEY_CODES.has(code)) return of(code === "ExpiredToken" ? "expired" : "invalid_credentials");
  if (THROTTLE_CODES.has(code) || f.status === 429 || f.status === 503) return of("throttled");
  if (err instanceof StorageError) return of(byStorageCode(err.storageCode));
  if (f.status === 401) return of("invalid_credentials");
  if (f.status === 403) return of("access_denied");
  if (f.status === 404) return of("not_found");
  if (f.status >= 500) return of("provider_error");
  if (f.status >= 400) return of("invalid_request");
  return of("provider_error");
}

function byStorageCode(code: StorageError["storageCode"]): ProviderFailure {
  switch (code) {
    case "ACCESS_DENIED": return "access_denied";
    case "INVALID_CREDENTIALS": return "invalid_credentials";
    case "NOT_FOUND": return "not_found";
    case "ALREADY_EXISTS": return "already_exists";
    case "INVALID_ARGUMENT": return "invalid_request";
    case "INTEGRITY": return "integrity";
    case "TRANSIENT": return "unreachable";
    case "OUTBOUND_REFUSED": return "refused_address";
    default: return "provider_error";
  }
}
