import type { FastifyInstance } from "fastify";
import type { ServiceMetrics } from "./registry.ts";

/**
 * `skyferry_http_request_duration_seconds{method, route, status_code}` for every request the app
 * answers. The route is the matched route's template (`/api/jobs/:id`), never the raw URL, so the
 * label's values stay few; a request no route matched counts as `unmatched`. Registered on the root
 * app before the service's plugin, so every route of the service is covered.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: ServiceMetrics): void {
  const duration = metrics.histogram("skyferry_http_request_duration_seconds", "HTTP requests answered, by route template and status, and how long each took.", [
    "method",
    "route",
    "status_code",
  ]);
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    duration.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
