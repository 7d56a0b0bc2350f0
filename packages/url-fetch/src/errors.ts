import { GalaxyCode, SkyferryError } from "@skyferry/errors";

/** Codes of url-fetch's errors (`err.code`); all are about the user's URL, hence 4xx. */
export const UrlFetchErrorCode = ["URL_FORBIDDEN", "URL_TOO_LARGE", "URL_TIMEOUT", "URL_UNREACHABLE", "URL_TOO_MANY_REDIRECTS"] as const;
export type UrlFetchErrorCode = (typeof UrlFetchErrorCode)[number];

export class UrlFetchError extends SkyferryError {
  declare readonly code: UrlFetchErrorCode;
  constructor(code: UrlFetchErrorCode, message: string, options: ConstructorParameters<typeof SkyferryError>[2] = {}) {
    super(code, message, { field: "url", ...options });
    this.name = "UrlFetchError";
  }
}

export function isUrlFetchError(err: unknown, code?: UrlFetchErrorCode): err is UrlFetchError {
  return err instanceof UrlFetchError && (code === undefined || err.code === code);
}

const invalid = { status: 400, errCode: GalaxyCode.invalid } as const;

/** Not http(s), or the host (as resolved at connect time) is loopback, private, link-local, ... */
export const forbidden = (reason: string) => new UrlFetchError("URL_FORBIDDEN", `The URL is not allowed: ${reason}.`, invalid);

export const tooLarge = (maxBytes: number) =>
  new UrlFetchError("URL_TOO_LARGE", `The URL's content exceeds the size limit of ${maxBytes} bytes.`, { status: 413, errCode: GalaxyCode.tooLarge });

export const timedOut = (ms: number) => new UrlFetchError("URL_TIMEOUT", `Fetching the URL did not finish within ${ms} ms.`, invalid);

export const unreachable = (reason: string, cause?: unknown) => new UrlFetchError("URL_UNREACHABLE", `The URL could not be fetched: ${reason}.`, { ...invalid, cause });

export const tooManyRedirects = (max: number) => new UrlFetchError("URL_TOO_MANY_REDIRECTS", `The URL redirected more than ${max} times.`, invalid);
