import { toGalaxyError } from "@skyferry/errors/galaxy";
import type { FastifyError, FastifyInstance } from "fastify";

/**
 * Errors of the internal HTTP routes leave as Galaxy's `{"err_msg", "err_code"}` body, which the
 * gateway passes through unchanged; the mapping is the gateway's own (@skyferry/errors/galaxy), so
 * a refusal reads the same whichever service made it. Server errors are logged and answered generically.
 */
export function registerHttpErrors(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const { status, body } = toGalaxyError(err, req);
    if (status >= 500) req.log.error({ err }, "request failed");
    else req.log.info({ status, code: body.code }, "request refused");
    // A client that went away mid-upload gets no answer; only the log line above.
    if (reply.raw.destroyed) return;
    return reply.code(status).type("application/json").send(body);
  });
}
