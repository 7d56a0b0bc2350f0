/**
 * The console's one way to talk to the gateway: same-origin requests authenticated by the session
 * cookie. Every non-GET request carries a CSRF token from `GET /api/csrf` in `x-csrf-token`.
 * Failures become ApiError with Galaxy's `err_msg`, so pages can show the API's own words.
 */

/** An API refusal (or a network failure, status 0) in the words the API gave. */
export class ApiError extends Error {
  readonly status: number;
  readonly errCode: number | undefined;
  readonly field: string | undefined;
  readonly code: string | undefined;
  constructor(message: string, status: number, body: { err_code?: number; field?: string; code?: string } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errCode = body.err_code;
    this.field = body.field;
    this.code = body.code;
  }
}

export const CSRF_HEADER = "x-csrf-token";
/** Dispatched on `window` when the API answers 401. */
export const UNAUTHORIZED_EVENT = "skyferry:unauthorized";
let csrfToken: Promise<string | undefined> | undefined;

/** The session's CSRF token, fetched once and reused; undefined when the server issues none. */
export function csrf(refresh = false): Promise<string | undefined> {
  if (refresh || !csrfToken) {
    csrfToken = fetch("/api/csrf", { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(async (res) => {
        if (!res.ok) return undefined;
        const body = (await res.json()) as { csrf_token?: unknown };
        return typeof body.csrf_token === "string" ? body.csrf_token : undefined;
      })
      .catch(() => undefined);
  }
  return csrfToken;
}

/** Forget the token (after signing out: the next session gets its own). */
export function forgetCsrf(): void {
  csrfToken = undefined;
}

/** Turns a failed response into an ApiError carrying `err_msg` (or the status text). */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  return errorFromText(res.status, text, res.statusText);
}

export function errorFromText(status: number, text: string, statusText = ""): ApiError {
  try {
    const body = JSON.parse(text) as { err_msg?: unknown; err_code?: number; field?: string; code?: string };
    if (typeof body.err_msg === "string") return new ApiError(body.err_msg, status, body);
  } catch {
    // not JSON: fall through
  }
  const words = text && text.length < 300 && !text.trimStart().startsWith("<") ? text : statusText || "request failed";
  return new ApiError(`HTTP ${status}: ${words}`, status);
}

function looksLikeCsrfRefusal(err: ApiError): boolean {
  return err.status === 403 && /csrf/i.test(`${err.code ?? ""} ${err.message}`);
}

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** A JSON request; answers the parsed body (undefined for 204). */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const attempt = async (refresh: boolean): Promise<Response> => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (method !== "GET") {
      const token = await csrf(refresh);
      if (token) headers[CSRF_HEADER] = token;
    }
    try {
      return await fetch(path, { method, headers, credentials: "same-origin", ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      throw new ApiError("Could not reach the server; check your connection and try again.", 0);
    }
  };
  let res = await attempt(false);
  if (!res.ok) {
    let err = await errorOf(res);
    // A token from an older session: fetch a fresh one and try once more.
    if (method !== "GET" && looksLikeCsrfRefusal(err)) {
      res = await attempt(true);
      if (!res.ok) err = await errorOf(res);
    }
    if (!res.ok) {
      // The session ended (expired, signed out in another tab): the app shows the sign-in page.
      if (err.status === 401) dispatchEvent(new Event(UNAUTHORIZED_EVENT));
      throw err;
    }
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const put = <T>(path: string, body: unknown) => api<T>("PUT", path, body);
export const del = <T>(path: string) => api<T>("DELETE", path);

/** Builds a query string from defined values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
