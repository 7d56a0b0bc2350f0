import { GalaxyCode, SkyferryError } from "@skyferry/errors";
import type { FastifyInstance } from "fastify";
import sjson from "secure-json-parse";

/** How deep a JSON body may nest (objects and arrays). Galaxy's own payloads need fewer than 10. */
export const MAX_JSON_DEPTH = 64;

/** `type/subtype` then `; name=value` parameters (token or quoted string), printable ASCII only (RFC 9110). */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(\\s*;\\s*${TOKEN}=(${TOKEN}|"([\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"))*\\s*;?\\s*$`);

const unsupportedType = () =>
  new SkyferryError("REQUEST_CONTENT_TYPE_INVALID", "The Content-Type header is not a valid media type.", { status: 415, errCode: GalaxyCode.invalid, field: "content-type" });
const tooDeep = (max: number) =>
  new SkyferryError("REQUEST_JSON_TOO_DEEP", `The JSON body nests deeper than ${max} levels.`, { status: 400, errCode: GalaxyCode.malformedContents });
const badJson = (why: string) => new SkyferryError("REQUEST_JSON_INVALID", `The request body is not valid JSON: ${why}.`, { status: 400, errCode: GalaxyCode.invalid });

/** Whether `text` opens more than `max` objects/arrays at once: one pass, no recursion, before any parsing. */
export function jsonDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92) escaped = true;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) depth--;
  }
  return false;
}

/**
 * Input limits for every route of a service (issue 19), registered before its routes: a
 * Content-Type that is not a printable-ASCII media type is 415 before any parser sees it; JSON
 * bodies are refused (400) when they nest deeper than `maxDepth` (checked on the text, before
 * parsing, so nothing downstream — a proxy's re-serialization, a validator — recurses into them)
 * or carry `__proto__` / `constructor.prototype`. The size limit is Fastify's `bodyLimit`.
 */
export function registerInputLimits(app: FastifyInstance, { maxDepth = MAX_JSON_DEPTH }: { maxDepth?: number } = {}): void {
  app.addHook("onRequest", async (req) => {
    const type = req.headers["content-type"];
    if (type !== undefined && !MEDIA_TYPE.test(type)) throw unsupportedType();
    // A multipart body cannot be read without its boundary (busboy would throw mid-handler).
    if (type !== undefined && /^multipart\//i.test(type) && !/;\s*boundary=/i.test(type)) throw unsupportedType();
  });
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === "") return done(badJson("the body is empty"), undefined);
    if (jsonDeeperThan(text, maxDepth)) return done(tooDeep(maxDepth), undefined);
    try {
      done(null, sjson.parse(text, { protoAction: "error", constructorAction: "error" }));
    } catch (err) {
      const proto = err instanceof SyntaxError && /prototype/i.test(err.message);
      done(badJson(proto ? "it contains a __proto__ or constructor.prototype key" : "it does not parse"), undefined);
    }
  });
}
