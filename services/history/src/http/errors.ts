import { GalaxyCode, isSkyferryError } from "@skyferry/errors";
import type { FastifyError, FastifyInstance } from "fastify";

/**
 * Errors of the internal HTTP routes leave as Galaxy's `{"err_msg", "err_code"}` body, which the
 * gateway passes through unchanged; server errors are logged and answered generically.
 */
export function registerHttpErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    let status = 500;
    let body: Record<string, unknown> = { err_msg: "Internal server error.", err_code: GalaxyCode.internal, code: "INTERNAL" };
    const fe = err as Partial<FastifyError> & { validation?: Array<{ keyword: string; instancePath: string; params: Record<string, unknown>; message?: string }> };
    if (isSkyferryError(err)) {
      status = err.status;
      if (status < 500) body = { err_msg: err.message, err_code: err.errCode, code: err.code, ...(err.field ? { field: err.field } : {}) };
      else body = { err_msg: "A service needed for this request is unavailable; try again shortly.", err_code: err.errCode, code: err.code };
    } else if (fe.validation && fe.validation.length > 0) {
      const v = fe.validation[0]!;
      const missing = v.keyword === "required";
      const prop = missing ? v.params.missingProperty : v.keyword === "additionalProperties" ? v.params.additionalProperty : "";
      const field = [...v.instancePath.split("/").filter(Boolean), String(prop ?? "")].filter(Boolean).join(".") || "(root)";
      status = 400;
      body = missing
        ? { err_msg: `The following required arguments are missing: [${field}]`, err_code: GalaxyCode.missing, code: "REQUEST_FIELD_MISSING", field }
        : { err_msg: `Invalid field '${field}': ${v.message ?? "is invalid"}.`, err_code: GalaxyCode.invalid, code: "REQUEST_FIELD_INVALID", field };
    } else if (typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
      status = fe.statusCode;
      const errCode = status === 413 ? GalaxyCode.tooLarge : status === 401 ? GalaxyCode.authRequired : status === 404 ? GalaxyCode.notFound : GalaxyCode.invalid;
      body = { err_msg: fe.message ?? "Bad request.", err_code: errCode, code: fe.code ?? "REQUEST_INVALID" };
    }
    if (status >= 500) req.log.error({ err }, "request failed");
    else req.log.info({ status, code: body.code }, "request refused");
    // A client that went away mid-upload gets no answer; only the log line above.
    if (reply.raw.destroyed) return;
    return reply.code(status).type("application/json").send(body);
  });
}
