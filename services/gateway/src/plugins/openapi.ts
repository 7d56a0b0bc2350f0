import swagger from "@fastify/swagger";
import { Type } from "@sinclair/typebox";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { SESSION_COOKIE } from "./auth.ts";

/** Galaxy's error body, shared by every route's error responses. */
const GalaxyError = Type.Object({ err_msg: Type.String(), err_code: Type.Integer() });

/**
 * OpenAPI 3 from the TypeBox route schemas. Registered before the route groups so
 * @fastify/swagger's onRoute hook sees them; the document is built lazily on request.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "skyferry", version: "0.1.0", description: "Galaxy-compatible cloud send/get API." },
      components: {
        securitySchemes: {
          apiKeyQuery: { type: "apiKey", in: "query", name: "key" },
          apiKeyHeader: { type: "apiKey", in: "header", name: "x-api-key" },
          session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE },
        },
        schemas: { GalaxyError },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/api/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
