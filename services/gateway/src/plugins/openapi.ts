import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { Type } from "@sinclair/typebox";
import { buildAsyncApi } from "@skyferry/contracts/asyncapi";
import type { FastifyInstance, RouteOptions } from "fastify";
import { SESSION_COOKIE } from "./auth.ts";
import { CSRF_HEADER } from "./csrf.ts";
import { cspHeader, DOCS_CONTENT_SECURITY_POLICY } from "./security.ts";

/** Galaxy's error body, shared by every route's error responses (plugins/errors.ts sends it). */
const GalaxyError = Type.Object(
  {
    err_msg: Type.String(),
    err_code: Type.Integer({ description: "Galaxy's code: 400007 missing, 400008 invalid, 400009 malformed id, 401001, 403002, 404001, 429001, 503001, ..." }),
    code: Type.Optional(Type.String({ description: "skyferry's error code, e.g. REQUEST_FIELD_MISSING" })),
    field: Type.Optional(Type.String({ description: "the offending field, when known" })),
    request_id: Type.Optional(Type.String({ description: "this request's id, as in the x-request-id answer header and every service's log lines" })),
  },
  { description: "Galaxy's error body" },
);

/** The error answers every operation may give; which apply depends on authentication and method. */
const ERRORS = {
  400: "Invalid request: a field is missing (400007), invalid (400008) or a malformed id (400009)",
  401: "No credentials, or an unknown or expired API key or session (401001)",
  403: `Forbidden (403002): among others, a cookie-authenticated write without a valid ${CSRF_HEADER} header`,
  404: "Not found, or not the caller's (404001)",
  429: "Too many failed authentication attempts from this address (429001); see Retry-After",
  503: "A service needed for this request is unavailable; try again (503001)",
} as const;
type ErrorStatus = keyof typeof ERRORS;
const ALWAYS: ErrorStatus[] = [400, 404, 503];
const WHEN_AUTHENTICATED: ErrorStatus[] = [401, 403, 429];
const UNSAFE = new Set(["post", "put", "patch", "delete"]);
const SECURITY: Array<Record<string, string[]>> = [{ apiKeyQuery: [] }, { apiKeyHeader: [] }, { session: [] }];

interface OpenApiOperation {
  security?: unknown[];
  parameters?: Array<{ in: string; name: string }>;
  responses?: Record<string, unknown>;
}

/**
 * OpenAPI 3 from the TypeBox route schemas. Registered before the route groups so
 * @fastify/swagger's onRoute hook sees them; the document is built lazily on request. Every
 * operation gets Galaxy's error responses here, centrally, unless its route declares its own.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const authenticates = (route: RouteOptions) => [route.preHandler].flat().some((h) => h !== undefined && h === app.authenticate);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "skyferry",
        version: "0.1.0",
        description: "Galaxy-compatible cloud send/get API. The NATS interface is described by the AsyncAPI document at /asyncapi.json.",
      },
      components: {
        securitySchemes: {
          apiKeyQuery: { type: "apiKey", in: "query", name: "key" },
          apiKeyHeader: { type: "apiKey", in: "header", name: "x-api-key" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: SESSION_COOKIE,
            description: `Set at sign-in (/authnz/{provider}/login). POST, PUT, PATCH and DELETE with the cookie also need the ${CSRF_HEADER} header from GET /api/csrf.`,
          },
        },
        schemas: { GalaxyError },
      },
    },
    transform: ({ schema, url, route }) => ({
      schema: authenticates(route) ? { ...schema, security: SECURITY } : schema,
      url,
    }),
    transformObject: (documentObject) => {
      const doc = "openapiObject" in documentObject ? documentObject.openapiObject : documentObject.swaggerObject;
      for (const path of Object.values(doc.paths ?? {})) {
        for (const [method, op] of Object.entries(path as Record<string, OpenApiOperation>)) addCommonParts(op, method);
      }
      return doc;
    },
  });
  // staticCSP replaces helmet's header on Swagger UI's own routes only (see security.ts).
  await app.register(swaggerUi, { routePrefix: "/api/docs", staticCSP: cspHeader(DOCS_CONTENT_SECURITY_POLICY) });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  let asyncApi: unknown;
  app.get("/asyncapi.json", { schema: { hide: true } }, async () => (asyncApi ??= buildAsyncApi()));
}

function addCommonParts(op: OpenApiOperation, method: string): void {
  if (op.security && UNSAFE.has(method) && !op.parameters?.some((p) => p.in === "header" && p.name === CSRF_HEADER)) {
    const csrf = { in: "header", name: CSRF_HEADER, required: false, description: "Required when authenticated by the session cookie: the token from GET /api/csrf.", schema: { type: "string" } };
    (op.parameters ??= []).push(csrf);
  }
  const responses = (op.responses ??= {});
  const wanted = [...ALWAYS, ...(op.security ? WHEN_AUTHENTICATED : UNSAFE.has(method) ? [403 as const] : [])];
  for (const status of wanted.sort()) {
    responses[String(status)] ??= {
      description: ERRORS[status],
      content: { "application/json": { schema: { $ref: "#/components/schemas/GalaxyError" } } },
    };
  }
}
