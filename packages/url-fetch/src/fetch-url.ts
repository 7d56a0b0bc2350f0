import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { endpointOf, guardConnection, isOutboundRefused, type OutboundPolicy } from "@skyferry/outbound-policy";
import { type AddressPolicy, checkLiteralHost, outboundPolicyOf } from "./address-policy.ts";
import { forbidden, isUrlFetchError, timedOut, tooLarge, tooManyRedirects, unreachable } from "./errors.ts";
import { filenameOf } from "./filename.ts";

export interface FetchUrlOptions extends AddressPolicy {
  /** Most bytes accepted; more fails with URL_TOO_LARGE (before the body when Content-Length says so). */
  maxBytes: number;
  /** Deadline for the whole fetch, redirects and body included: URL_TIMEOUT. */
  timeoutMs: number;
  /** Redirects followed (each target is checked like the first URL): URL_TOO_MANY_REDIRECTS beyond. */
  maxRedirects: number;
  /** Aborts the fetch and destroys the body with the signal's reason. */
  signal?: AbortSignal;
}

export interface FetchedUrl {
  /** The content, streamed; it errors with URL_TOO_LARGE / URL_TIMEOUT / URL_UNREACHABLE. */
  body: Readable;
  contentLength: number | null;
  /** From Content-Disposition, else the last path segment of the final URL; a bare name, never a path. */
  filename: string | null;
  contentType: string | null;
  /** The URL the content came from, after redirects. */
  url: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches an http(s) URL for an upload, refusing addresses that are not public unless
 * `allowPrivate` (see address-policy.ts); names are checked on the addresses actually connected
 * to, and every redirect target again. Resolves once the response headers are in.
 * @throws UrlFetchError URL_FORBIDDEN, URL_TOO_LARGE, URL_TIMEOUT, URL_UNREACHABLE, URL_TOO_MANY_REDIRECTS
 *   (or the signal's reason when it fires).
 */
export async function fetchUrl(input: string, options: FetchUrlOptions): Promise<FetchedUrl> {
  const policy = outboundPolicyOf(options);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(timedOut(options.timeoutMs)), options.timeoutMs);
  const onCallerAbort = () => deadline.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onCallerAbort, { once: true });
  const done = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onCallerAbort);
  };
  if (options.signal?.aborted) onCallerAbort();
  try {
    let url = parseUrl(input);
    for (let hop = 0; ; hop++) {
      checkUrl(url, policy);
      const res = await get(url, policy, deadline.signal);
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) && res.headers.location) {
        res.destroy();
        if (hop >= options.maxRedirects) throw tooManyRedirects(options.maxRedirects);
        url = parseUrl(res.headers.location, url);
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw unreachable(`the server answered HTTP ${status}`);
      }
      const declared = Number(res.headers["content-length"]);
      const contentLength = res.headers["content-length"] !== undefined && Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
      if (contentLength !== null && contentLength > options.maxBytes) {
        res.destroy();
        throw tooLarge(options.maxBytes);
      }
      const body = limitBody(res, options.maxBytes, contentLength, deadline.signal);
      body.once("close", done);
      return { body, contentLength, filename: filenameOf(res.headers["content-disposition"], url), contentType: res.headers["content-type"] ?? null, url: url.href };
    }
  } catch (err) {
    done();
    throw err;
  }
}

function parseUrl(value: string, base?: URL): URL {
  try {
    return new URL(value, base);
  } catch {
    throw base ? unreachable("the redirect target is not a valid URL") : forbidden("it is not a valid URL");
  }
}

function checkUrl(url: URL, policy: OutboundPolicy): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") throw forbidden(`only http and https are supported, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) throw forbidden("credentials in the URL are not supported");
  checkLiteralHost(url.hostname, endpointOf(url).port, policy);
}

function get(url: URL, policy: OutboundPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http;
    const { host, port } = endpointOf(url);
    const guard = guardConnection(policy, { host, port }, port);
    if ("refused" in guard) return reject(forbidden(guard.refused.message));
    const req = client.request(url, {
      method: "GET",
      // A fresh agent per request: a pooled socket would skip the lookup (and its address check).
      agent: false,
      ...(guard.options.lookup ? { lookup: guard.options.lookup } : {}),
      headers: { "user-agent": "skyferry-url-fetch", accept: "*/*", "accept-encoding": "identity" },
      signal,
    });
    req.once("response", resolve);
    req.once("error", (err) => reject(requestFailure(err, signal)));
    req.end();
  });
}

function requestFailure(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return signal.reason;
  if (isUrlFetchError(err)) return err;
  if (isOutboundRefused(err)) return forbidden((err as Error).message.replace(/^The destination /, "").replace(/\.$/, ""));
  const code = (err as { code?: string }).code;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NODATA") return unreachable("the host name does not resolve", err);
  if (code === "ECONNREFUSED") return unreachable("the connection was refused", err);
  return unreachable(code ?? (err as Error).message ?? "network error", err);
}

/** The response as a stream that fails once more than `maxBytes` arrive, on the deadline, or when cut short. */
function limitBody(res: IncomingMessage, maxBytes: number, contentLength: number | null, signal: AbortSignal): Readable {
  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, next: TransformCallback) {
      bytes += chunk.length;
      if (bytes > maxBytes) return next(tooLarge(maxBytes));
      next(null, chunk);
    },
    flush(next: TransformCallback) {
      if (contentLength !== null && bytes !== contentLength) return next(unreachable(`the transfer ended after ${bytes} of ${contentLength} bytes`));
      next();
    },
  });
  const onAbort = () => limiter.destroy(signal.reason as Error);
  signal.addEventListener("abort", onAbort, { once: true });
  res.once("error", (err) => limiter.destroy(signal.aborted ? (signal.reason as Error) : unreachable("the connection broke off", err)));
  res.once("aborted", () => limiter.destroy(unreachable("the connection broke off")));
  limiter.once("close", () => {
    signal.removeEventListener("abort", onAbort);
    res.destroy();
  });
  res.pipe(limiter);
  return limiter;
}
