#!/usr/bin/env node
// `skyferry`: the bundle built by `npm run build -w @skyferry/cli` (scripts/build.mjs).
import { existsSync } from "node:fs";

const bundle = new URL("../dist/skyferry.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("CLI_NOT_BUILT: run `npm run build -w @skyferry/cli` (or `npx turbo run build --filter=@skyferry/cli`) first\n");
  process.exit(1);
}
await import(bundle.href);
