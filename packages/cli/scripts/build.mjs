#!/usr/bin/env node
// Bundles the CLI (and the workspace packages it imports, TypeScript sources) into dist/skyferry.mjs;
// npm dependencies stay imports resolved from node_modules, as for the services.
import { build } from "esbuild";
import { join, resolve } from "node:path";

const dir = resolve(import.meta.dirname, "..");
await build({
  entryPoints: [join(dir, "src/cli.ts")],
  outfile: join(dir, "dist/skyferry.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  sourcemap: "linked",
  logLevel: "warning",
  plugins: [
    {
      name: "npm-dependencies-external",
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@skyferry/") ? undefined : { path: args.path, external: true }));
      },
    },
  ],
});
