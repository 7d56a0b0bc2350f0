#!/usr/bin/env node
// Builds one service into one ES module, `services/<name>/dist/server.mjs` (and `provision.mjs` where
// the service has a `src/provision.ts`) (run from the service's
// folder by its `build` script, or `node scripts/build-service.mjs <name>`): the service and the
// workspace packages it imports (@skyferry/*, TypeScript sources) are bundled; npm dependencies stay
// imports resolved from node_modules. Running the bundle with plain `node` instead of `node --import
// tsx` saves each process about 25 MiB and its start-up compile (measured on the transfer worker:
// idle RSS 106 MiB against 132 MiB).
import { build } from "esbuild";
import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const name = process.argv[2] ?? basename(process.cwd());
const dir = join(root, "services", name);

await build({
  // A service's one-shot commands beside it (transfer's provision.ts: docs/trust.md) as their own modules.
  entryPoints: ["server", "provision"].map((e) => join(dir, `src/${e}.ts`)).filter((f) => existsSync(f)),
  outdir: join(dir, "dist"),
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  sourcemap: "linked",
  logLevel: "warning",
  // A `require` for the CommonJS modules bundled into this ES module (OpenTelemetry's, below).
  banner: { js: 'import { createRequire as __skyferryRequire } from "node:module";\nconst require = __skyferryRequire(import.meta.url);' },
  plugins: [
    {
      name: "npm-dependencies-external",
      setup(b) {
        // Bare imports other than the workspace's own packages: left to Node's resolution -- except
        // OpenTelemetry's, bundled from where @skyferry/tracing resolves them: its SDK 2.x sits in
        // packages/tracing/node_modules, while node_modules/ holds the 1.x a dev tool (azurite)
        // brings, which the service's folder would resolve instead.
        b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@skyferry/") || args.path.startsWith("@opentelemetry/") ? undefined : { path: args.path, external: true }));
      },
    },
  ],
});
