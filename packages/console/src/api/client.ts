/**
 * The console's one way to talk to the gateway: the generated SDK (@skyferry/client) on the same
 * origin, authenticated by the session cookie. Every non-GET request carries a CSRF token from
 * `GET /api/csrf` in `x-csrf-token` (SDK middleware). Failures are SkyferryApiError with Galaxy's
 * `err_msg`, so pages can show the API's own words.
 */
import { createSkyferry, ok, SkyferryApiError } from "@skyferry/client/browser";

export { SkyferryApiError as ApiError } from "@skyferry/client/browser";

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

/** The typed SDK for this origin: `sky.api.GET("/api/jobs/{id}", …)`. */
export const sky = createSkyferry({
  baseUrl: "",
  credentials: "same-origin",
  middleware: [
    {
      async onRequest({ request }) {
        if (request.method === "GET") return request;
        const token = await csrf();
        if (token) request.headers.set(CSRF_HEADER, token);
        return request;
      },
    },
  ],
});

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

const looksLikeCsrfRefusal = (err: SkyferryApiError) => err.status === 403 && /csrf/i.test(`${err.code ?? ""} ${err.message}`);

/**
 * Runs one SDK call and answers its body, or throws a SkyferryApiError. A write refused for an old
 * CSRF token is tried once more with a fresh one; a 401 tells the app the session ended.
 */
export async function call<T>(request: () => Promise<Result<T>>): Promise<T> {
  try {
    return ok(await request());
  } catch (first) {
    let err = first;
    if (err instanceof SkyferryApiError && looksLikeCsrfRefusal(err)) {
      await csrf(true);
      try {
        return ok(await request());
      } catch (second) {
        err = second;
      }
    }
    // The session ended (expired, signed out in another tab): the app shows the sign-in page.
    if (err instanceof SkyferryApiError && err.status === 401) dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    throw err;
  }
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Builds a query string (for console routes) from defined values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
