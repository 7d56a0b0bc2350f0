/**
 * The one mapping from an error to Galaxy's HTTP answer `{"err_msg", "err_code"}`, used by every
 * service that answers HTTP (the gateway, and the history service whose internal routes the
 * gateway passes through unchanged). Framework-neutral: it reads the shapes Fastify and Ajv give
 * errors, without importing either.
 */
import { GalaxyCode, isSkyferryError, malformedId, type SkyferryError } from "./index.ts";

/** Galaxy's error body: `{"err_msg", "err_code"}`; `field` names the offending field when known. */
export interface GalaxyErrorBody {
  err_msg: string;
  err_code: number;
  field?: string;
  code?: string;
}

export interface GalaxyError {
  status: number;
  body: GalaxyErrorBody;
}

/**
 * Marks a route's id parameter schema (see `IdParam` in @skyferry/contracts) with the field a
 * malformed value is reported as: `/api/histories/:id` reports `history_id`, as Galaxy does. A
 * symbol, so neither Ajv nor the OpenAPI document sees it.
 */
export const ID_FIELD: unique symbol = Symbol.for("skyferry.galaxy.id-field");

/** The parts of a request the mapper reads to name a malformed id (a Fastify request has them). */
export interface RequestLike {
  params?: unknown;
  query?: unknown;
  routeOptions?: { schema?: object | undefined };
}

/** One of Ajv's errors, as Fastify attaches them to a validation error (`err.validation`). */
interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

interface HttpError {
  statusCode?: number;
  code?: string;
  message?: string;
  validation?: SchemaError[];
  validationContext?: string;
}

/** Maps any error to its status and Galaxy body; server errors never carry their message out. */
export function toGalaxyError(err: unknown, req?: RequestLike): GalaxyError {
  if (isSkyferryError(err)) return fromSkyferry(err);
  const fe = (err ?? {}) as HttpError;
  if (fe.validation && fe.validation.length > 0) {
    const where = fe.validationContext ?? "body";
    const id = malformedIdOf(fe.validation[0]!, where, req);
    return id ? fromSkyferry(id) : fromSchemaError(fe.validation[0]!, where);
  }
  const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    return { status, body: { err_msg: clientMessage(fe), err_code: CLIENT_CODES[status] ?? GalaxyCode.invalid, code: fe.code ?? "REQUEST_INVALID" } };
  }
  return { status: status >= 500 ? status : 500, body: { err_msg: publicServerMessage(status), err_code: GalaxyCode.internal, code: "INTERNAL" } };
}

const CLIENT_CODES: Partial<Record<number, number>> = {
  401: GalaxyCode.authRequired,
  403: GalaxyCode.forbidden,
  404: GalaxyCode.notFound,
  413: GalaxyCode.tooLarge,
  429: GalaxyCode.rateLimited,
};

function fromSkyferry(err: SkyferryError): GalaxyError {
  const status = err.status;
  const body: GalaxyErrorBody = { err_msg: status >= 500 ? publicServerMessage(status) : err.message, err_code: err.errCode, code: err.code };
  if (err.field !== undefined && status < 500) body.field = err.field;
  return { status, body };
}

function fromSchemaError(first: SchemaError, where: string): GalaxyError {
  const missing = first.keyword === "required";
  const field = missing
    ? joinPath(first.instancePath, String(first.params.missingProperty ?? ""))
    : joinPath(first.instancePath, first.keyword === "additionalProperties" ? String(first.params.additionalProperty ?? "") : "");
  const err_msg = missing
    ? `The following required arguments are missing in the ${where}: [${field}]`
    : `Invalid ${where} field '${field || "(root)"}': ${first.message ?? "is invalid"}.`;
  return {
    status: 400,
    body: { err_msg, err_code: missing ? GalaxyCode.missing : GalaxyCode.invalid, field: field || "(root)", code: missing ? "REQUEST_FIELD_MISSING" : "REQUEST_FIELD_INVALID" },
  };
}

/**
 * A parameter or query value that failed the pattern of a schema marked with `ID_FIELD`: Galaxy's
 * malformed id (400009), naming the field and echoing the (truncated) value. Ajv reports neither
 * the value nor the schema, so both are read from the request.
 */
function malformedIdOf(first: SchemaError, where: string, req: RequestLike | undefined): SkyferryError | undefined {
  if (first.keyword !== "pattern" || !req || (where !== "params" && where !== "querystring")) return undefined;
  const name = first.instancePath.split("/").filter(Boolean)[0];
  if (name === undefined) return undefined;
  const schema = (req.routeOptions?.schema as Record<string, unknown> | undefined)?.[where] as { properties?: Record<string, { [ID_FIELD]?: unknown }> } | undefined;
  const field = schema?.properties?.[name]?.[ID_FIELD];
  if (typeof field !== "string") return undefined;
  const values = (where === "params" ? req.params : req.query) as Record<string, unknown> | undefined;
  return malformedId(field, String(values?.[name] ?? ""));
}

function clientMessage(err: HttpError): string {
  if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY") return "The request body is not valid JSON.";
  if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return "Unsupported content type.";
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return "The request body is too large.";
  return err.message ?? "Bad request.";
}

function publicServerMessage(status: number): string {
  return status === 503 || status === 502 || status === 504
    ? "A service needed for this request is unavailable; try again shortly."
    : "Internal server error.";
}

function joinPath(instancePath: string, prop: string): string {
  const base = instancePath.split("/").filter(Boolean).join(".");
  return [base, prop].filter(Boolean).join(".");
}
