import { GalaxyCode, isSkyferryError } from "@skyferry/errors";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Galaxy's error body: `{"err_msg", "err_code"}`; `field` names the offending field when known. */
export interface GalaxyErrorBody {
  err_msg: string;
  err_code: number;
  field?: string;
  code?: string;
}

/**
 * The gateway's one error handler. Every error leaves as Galaxy's body; client errors keep their
 * message and code, server errors are logged in full and answered with a generic message.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toGalaxyError(err);
    if (status >= 500) req.log.error({ err }, "request failed");
    else req.log.info({ err_code: body.err_code, code: body.code, status }, "request refused");
    return reply.code(status).type("application/json").send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ err_msg: `No route for ${req.method} ${req.url.split("?")[0]}.`, err_code: GalaxyCode.notFound, code: "ROUTE_NOT_FOUND" }),
  );
}

export function toGalaxyError(err: unknown): { status: number; body: GalaxyErrorBody } {
  if (isSkyferryError(err)) {
    const status = err.status;
    const body: GalaxyErrorBody = {
      err_msg: status >= 500 ? publicServerMessage(status) : err.message,
      err_code: err.errCode,
      code: err.code,
    };
    if (err.field !== undefined && status < 500) body.field = err.field;
    return { status, body };
  }
  const fe = err as Partial<FastifyError> & { validation?: Array<{ keyword: string; instancePath: string; params: Record<string, unknown>; message?: string }>; validationContext?: string };
  if (fe.validation && fe.validation.length > 0) {
    const first = fe.validation[0]!;
    const missing = first.keyword === "required";
    const field = missing
      ? joinPath(first.instancePath, String(first.params.missingProperty ?? ""))
      : joinPath(first.instancePath, first.keyword === "additionalProperties" ? String(first.params.additionalProperty ?? "") : "");
    const where = fe.validationContext ?? "body";
    const err_msg = missing
      ? `The following required arguments are missing in the ${where}: [${field}]`
      : `Invalid ${where} field '${field || "(root)"}': ${first.message ?? "is invalid"}.`;
    return { status: 400, body: { err_msg, err_code: missing ? GalaxyCode.missing : GalaxyCode.invalid, field: field || "(root)", code: missing ? "REQUEST_FIELD_MISSING" : "REQUEST_FIELD_INVALID" } };
  }
  const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const errCode = status === 413 ? GalaxyCode.tooLarge : status === 429 ? GalaxyCode.rateLimited : status === 404 ? GalaxyCode.notFound : status === 401 ? GalaxyCode.authRequired : status === 403 ? GalaxyCode.forbidden : GalaxyCode.invalid;
    return { status, body: { err_msg: clientMessage(fe), err_code: errCode, code: fe.code ?? "REQUEST_INVALID" } };
  }
  return { status: status >= 500 ? status : 500, body: { err_msg: publicServerMessage(status), err_code: GalaxyCode.internal, code: "INTERNAL" } };
}

function clientMessage(err: Partial<FastifyError>): string {
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
