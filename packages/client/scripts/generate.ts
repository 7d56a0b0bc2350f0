// Regenerates the SDK's types from the gateway's OpenAPI document.
//   npm run generate -w @skyferry/client                        (a gateway on $SKYFERRY_URL or http://127.0.0.1:8080)
//   npm run generate -w @skyferry/client -- http://host:8080     (another gateway)
//   npm run generate -w @skyferry/client -- ../../.test-results/openapi.json   (the document the freshness test saved)
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { renderDocument, renderTypes } from "./render-types.ts";

const pkg = resolve(import.meta.dirname, "..");
const source = process.argv[2] ?? process.env.SKYFERRY_URL ?? "http://127.0.0.1:8080";

async function load(from: string): Promise<unknown> {
  if (!/^https?:\/\//.test(from)) return JSON.parse(readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), from), "utf8"));
  const url = from.endsWith(".json") ? from : `${from.replace(/\/$/, "")}/openapi.json`;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

const doc = await load(source);
writeFileSync(join(pkg, "openapi.json"), renderDocument(doc));
writeFileSync(join(pkg, "src/generated/openapi.ts"), await renderTypes(doc));
console.log(`wrote packages/client/openapi.json and src/generated/openapi.ts from ${source}`);
