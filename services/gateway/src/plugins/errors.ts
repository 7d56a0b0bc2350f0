import { GalaxyCode } from "@skyferry/errors";
import { toGalaxyError } from "@skyferry/errors/galaxy";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The gateway's one error handler. Every error leaves as Galaxy's body (the mapping is shared with
 * the history service: @skyferry/errors/galaxy); client errors keep their message and code,
 * server errors are logged in full and answered with a generic message.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toGalaxyError(err, req);
    if (status >= 500) req.log.error({ err }, "request failed");
    else req.log.info({ err_code: body.err_code, code: body.code, status }, "request refused");
    return reply.code(status).type("application/json").send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ err_msg: `No route for ${req.method} ${req.url.split("?")[0]}.`, err_code: GalaxyCode.notFound, code: "ROUTE_NOT_FOUND" }),
  );
}
