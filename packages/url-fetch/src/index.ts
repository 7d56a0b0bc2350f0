export { type FetchedUrl, fetchUrl, type FetchUrlOptions } from "./fetch-url.ts";
export { type AddressPolicy, refusal } from "./address-policy.ts";
export { isUrlFetchError, UrlFetchError, UrlFetchErrorCode } from "./errors.ts";
export { filenameOf } from "./filename.ts";
