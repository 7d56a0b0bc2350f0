import createClient, { type Client, type Middleware } from "openapi-fetch";
import { clientError, errorFromBody, type ApiErrorBody, SkyferryApiError } from "./errors.ts";
import type { paths } from "./generated/openapi.ts";

/** `fetch`'s credentials mode (RequestCredentials in the DOM library; spelled so for Node-only projects too). */
type Credentials = NonNullable<RequestInit["credentials"]>;

export interface SkyferryOptions {
  /** The gateway's origin, e.g. `https://skyferry.example.org`; `""` for same-origin (the console). */
  baseUrl: string;
  /** Sent as `x-api-key` (never in the URL, where it would be logged). */
  apiKey?: string;
  /** `same-origin` for the console's session cookie. */
  credentials?: Credentials;
  fetch?: typeof fetch;
  /** Extra middleware (the console's CSRF header, 401 handling). */
  middleware?: Middleware[];
  /** Added to every request, e.g. a `user-agent`. */
  headers?: Record<string, string>;
}

/** The SDK: the typed openapi-fetch client plus what the helpers need to make raw requests. */
export interface Skyferry {
  /** Typed calls: `sky.api.GET("/api/jobs/{id}", { params: { path: { id } } })`. */
  api: Client<paths>;
  baseUrl: string;
  /** Headers that authenticate a raw request (SSE, uploads) the same way `api` does. */
  authHeaders(): Record<string, string>;
  fetch: typeof fetch;
  credentials: Credentials | undefined;
}

export function createSkyferry(opts: SkyferryOptions): Skyferry {
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  const authHeaders = (): Record<string, string> => ({ ...opts.headers, ...(opts.apiKey ? { "x-api-key": opts.apiKey } : {}) });
  const doFetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  // Transport failures become coded errors like the API's own refusals.
  const guardedFetch: typeof fetch = async (input, init) => {
    try {
      return await doFetch(input, init);
    } catch (err) {
      if (err instanceof SkyferryApiError) throw err;
      if ((err as { name?: string }).name === "AbortError") throw clientError("CLIENT_ABORTED", "The request was cancelled.", err);
      throw clientError("CLIENT_UNREACHABLE", `Could not reach ${baseUrl || "the server"}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, err);
    }
  };
  const api = createClient<paths>({ baseUrl, fetch: guardedFetch, ...(opts.credentials ? { credentials: opts.credentials } : {}) });
  api.use({
    onRequest({ request }) {
      for (const [k, v] of Object.entries(authHeaders())) request.headers.set(k, v);
      if (!request.headers.has("accept")) request.headers.set("accept", "application/json");
      return request;
    },
  });
  for (const m of opts.middleware ?? []) api.use(m);
  return { api, baseUrl, authHeaders, fetch: guardedFetch, credentials: opts.credentials };
}

/**
 * The body of an openapi-fetch result, or its error thrown as a SkyferryApiError:
 * `const jobs = ok(await sky.api.GET("/api/jobs"))`.
 */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  const { response } = result;
  if (!response.ok) throw errorFromBody(response.status, result.error as ApiErrorBody | undefined, response.statusText);
  return result.data as T;
}
