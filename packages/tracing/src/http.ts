import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { FastifyInstance, FastifyRequest } from "fastify";

/**
 * A server span per HTTP request, active while its hooks and handler run, so the NATS requests a
 * route makes (packages/bus) are its children. Named by the route's template. The caller's trace
 * context (`traceparent`) is continued only when `acceptParent` says the caller may set it (the
 * gateway: a trusted proxy); otherwise the request starts a trace. A no-op with tracing off.
 */
export function registerHttpTracing(app: FastifyInstance, options: { service: string; acceptParent?: (req: FastifyRequest) => boolean }): void {
  const tracer = trace.getTracer(`skyferry-${options.service}`);
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook("onRequest", (req, _reply, done) => {
    const parent = options.acceptParent === undefined || options.acceptParent(req) ? propagation.extract(ROOT_CONTEXT, req.headers) : ROOT_CONTEXT;
    const route = req.routeOptions.url ?? "unmatched";
    const span = tracer.startSpan(`${req.method} ${route}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "http.route": route, "skyferry.request_id": String(req.id) } }, parent);
    spans.set(req, span);
    // The rest of the request's lifecycle runs inside the span's context.
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook("onResponse", async (req, reply) => {
    const span = spans.get(req);
    if (!span) return;
    span.setAttribute("http.response.status_code", reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}
