import type { RawRequestDefaultExpression } from "fastify";
import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";

/**
 * Galaxy ignores query parameters it does not know (clients such as BioBlend routinely send
 * `hda_ldda`, `order_by`, …). For every route whose query schema lists its properties, unknown
 * parameters are dropped before validation, so the known ones are still checked strictly and
 * nothing unknown reaches a handler. Request bodies are not touched: they stay strict.
 */
export function registerTolerantQuery(app: FastifyInstance): void {
  app.addHook("onRoute", (route: RouteOptions) => {
    const qs = route.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
    if (!qs?.properties) return;
    const known = new Set(Object.keys(qs.properties));
    const drop = async (req: FastifyRequest) => {
      // Before validation, so whatever the query parser made of the URL: not yet the route's type.
      const q: unknown = req.query;
      if (typeof q !== "object" || q === null) return;
      for (const name of Object.keys(q)) if (!known.has(name)) Reflect.deleteProperty(q, name);
    };
    const existing = route.preValidation;
    route.preValidation = existing === undefined ? [drop] : [drop, ...(Array.isArray(existing) ? existing : [existing])];
  });
}

/**
 * Galaxy routes `/api/cloud/authz/` like `/api/cloud/authz`: a trailing slash on an API path is
 * dropped before routing (a server option, `rewriteUrl`). Only under `/api/`: the sign-in and
 * console routes keep their own forms.
 */
export function withoutTrailingSlash(req: RawRequestDefaultExpression): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (!path.startsWith("/api/") || !path.endsWith("/")) return url;
  return path.replace(/\/+$/, "") + (q === -1 ? "" : url.slice(q));
}
