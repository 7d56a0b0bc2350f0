import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";

/**
 * packages/console/dist, built by `npm run build` (the console workspace's `vite build`); found
 * through the workspace package, so it holds from the sources and from the built bundle alike.
 */
export const DEFAULT_CONSOLE_DIR = consoleDir();

function consoleDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("@skyferry/console/package.json")), "dist");
  } catch {
    return fileURLToPath(new URL("../../../../packages/console/dist", import.meta.url));
  }
}

/** Paths that belong to the API: never answered with the console's page. */
const API_PATH = /^\/(api|authnz|openapi\.json|healthz|readyz|internal)(\/|$|\?)/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>skyferry: console not built</title></head>
<body><h1>The web console is not built</h1>
<p>Run <code>npm run build</code> in the repository (or <code>npx turbo run build --filter=@skyferry/console</code>), then reload this page.</p>
<p>The API works without it: see <a href="/api/docs">/api/docs</a>.</p></body></html>
`;

/**
 * Serves the web console (packages/console/dist) at `/`. Built files are served as they are
 * (hashed assets cached for a year); any other GET outside the API answers index.html, so a
 * reloaded deep link still opens the console. Without a build, `/` answers 503 saying how to build.
 */
export async function registerConsole(app: FastifyInstance, opts: { root?: string } = {}): Promise<void> {
  const root = resolve(opts.root ?? DEFAULT_CONSOLE_DIR);
  const built = () => existsSync(join(root, "index.html"));
  // serve: false: only reply.sendFile; the routes below decide what is served.
  await app.register(fastifyStatic, { root, serve: false });

  const page = (reply: FastifyReply) => {
    if (!built()) return reply.code(503).header("cache-control", "no-store").type("text/html; charset=utf-8").send(NOT_BUILT);
    return reply.header("cache-control", "no-cache").sendFile("index.html", { cacheControl: false });
  };

  app.get("/", { schema: { hide: true } }, async (_req, reply) => page(reply));
  app.get("/*", { schema: { hide: true } }, async (req, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split("?")[0]!);
    } catch {
      path = "/api/";
    }
    if (API_PATH.test(path)) {
      reply.callNotFound();
      return reply;
    }
    const file = resolve(root, `.${path}`);
    if (file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile()) {
      const immutable = path.startsWith("/assets/");
      return reply.sendFile(path.slice(1), immutable ? { maxAge: "365d", immutable: true } : { cacheControl: false });
    }
    return page(reply);
  });
}
