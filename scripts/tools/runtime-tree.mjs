#!/usr/bin/env node
// What a service's Docker image carries (the Dockerfile's runtime stage copies <out> to /app):
//   node scripts/tools/runtime-tree.mjs <service> <out>
// only compiled JavaScript: services/<name>/dist/server.mjs (scripts/build-service.mjs's bundle, and
// provision.mjs where the service has one; their
// source map without the embedded TypeScript sources), the package.json files, node-flags, and the
// npm packages the bundle imports (its externals) with their own dependencies, each copied to the
// same relative node_modules path it resolves from here, so Node resolves them as it does in the
// repository. The gateway also gets the built console (packages/console/dist) as
// node_modules/@skyferry/console, where services/gateway/src/plugins/console.ts looks for it.
// No TypeScript sources, tests, dev tools (tsx, esbuild, vite) or other workspaces.
//
//   node scripts/tools/runtime-tree.mjs --script-deps <file.mjs> [package-lock.json]
// prints a package.json whose dependencies are the npm packages <file.mjs> imports, at the
// versions package-lock.json pins (the Dockerfile's `oidc` stage installs the stack's provider so).
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const builtins = new Set(builtinModules);

/** Bare package names a JavaScript file imports (static, dynamic, require, require.resolve). */
export function importedPackages(text) {
  const names = new Set();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire(?:\.resolve)?\s*\(\s*)["']([^"'.\/][^"']*)["']/g;
  for (const [, spec] of text.matchAll(pattern)) {
    if (spec.startsWith("node:") || builtins.has(spec.split("/")[0])) continue;
    names.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
  }
  return [...names].sort();
}

/** The folder `name` resolves to from `fromDir` (Node's node_modules walk), or undefined. */
function findPackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}

function copyPackages(names, fromDir, out, seen) {
  for (const name of names) {
    if (name.startsWith("@skyferry/")) continue; // bundled (the console is added separately)
    const dir = findPackage(name, fromDir);
    if (!dir) throw new Error(`runtime-tree: ${name} (imported from ${relative(root, fromDir) || "."}) is not installed`);
    const rel = relative(root, dir);
    if (seen.has(rel)) continue;
    seen.add(rel);
    const real = realpathSync(dir);
    // Nested node_modules are copied by the walk, only where they are used.
    cpSync(real, join(out, rel), { recursive: true, filter: (src) => relative(real, src).split("/")[0] !== "node_modules" });
    const pkg = JSON.parse(readFileSync(join(real, "package.json"), "utf8"));
    const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
    // Peer dependencies are used when installed (npm 7+ installs them), optional ones may be absent.
    const peers = Object.keys(pkg.peerDependencies ?? {}).filter((p) => findPackage(p, dir));
    const optional = new Set([...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependenciesMeta ?? {})]);
    copyPackages([...deps, ...peers].filter((d) => !optional.has(d) || findPackage(d, dir)), dir, out, seen);
  }
}

function copyFile(rel, out) {
  mkdirSync(dirname(join(out, rel)), { recursive: true });
  cpSync(join(root, rel), join(out, rel));
}

export function runtimeTree(service, out) {
  const dist = `services/${service}/dist`;
  const bundle = join(root, dist, "server.mjs");
  if (!existsSync(bundle)) throw new Error(`runtime-tree: ${dist}/server.mjs is missing (node scripts/build-service.mjs ${service})`);
  mkdirSync(out, { recursive: true });
  copyFile("package.json", out);
  copyFile(`services/${service}/package.json`, out);
  // The bundle and the service's one-shot commands beside it (transfer's provision.mjs).
  const bundles = ["server.mjs", "provision.mjs"].filter((f) => existsSync(join(root, dist, f)));
  for (const f of bundles) copyFile(`${dist}/${f}`, out);
  if (existsSync(join(root, `services/${service}/node-flags`))) copyFile(`services/${service}/node-flags`, out);
  for (const f of bundles) {
    const mapFile = join(root, dist, `${f}.map`);
    if (!existsSync(mapFile)) continue;
    // Stack traces keep their TypeScript file names and lines; the sources themselves stay out.
    const map = JSON.parse(readFileSync(mapFile, "utf8"));
    delete map.sourcesContent;
    writeFileSync(join(out, dist, `${f}.map`), JSON.stringify(map));
  }
  const imported = new Set(bundles.flatMap((f) => [...importedPackages(readFileSync(join(root, dist, f), "utf8"))]));
  copyPackages(imported, join(root, dist), out, new Set());
  if (service === "gateway") {
    const consoleDir = join(root, "packages/console");
    if (!existsSync(join(consoleDir, "dist/index.html"))) {
      throw new Error("runtime-tree: packages/console/dist is not built (npx turbo run build --filter=@skyferry/console)");
    }
    const target = join(out, "node_modules/@skyferry/console");
    mkdirSync(target, { recursive: true });
    cpSync(join(consoleDir, "package.json"), join(target, "package.json"));
    cpSync(join(consoleDir, "dist"), join(target, "dist"), { recursive: true });
  }
}

/** A package.json for the npm packages `file` and its local modules import, at the versions `lockFile` pins. */
export function scriptDependencies(file, lockFile = join(root, "package-lock.json")) {
  const lock = JSON.parse(readFileSync(lockFile, "utf8"));
  const dependencies = {};
  const names = new Set();
  const seen = new Set();
  // The file and the local modules it imports (./x.mjs), transitively.
  const visit = (f) => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = readFileSync(f, "utf8");
    for (const name of importedPackages(text)) names.add(name);
    for (const [, rel] of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.\.?\/[^"']+)["']/g)) visit(resolve(dirname(f), rel));
  };
  visit(file);
  for (const name of [...names].sort()) {
    const version = lock.packages?.[`node_modules/${name}`]?.version;
    if (!version) throw new Error(`runtime-tree: ${name} (imported by ${file}) is not in ${lockFile}`);
    dependencies[name] = version;
  }
  return { private: true, type: "module", dependencies };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const [first, second, third] = process.argv.slice(2);
  if (first === "--script-deps" && second) {
    process.stdout.write(`${JSON.stringify(scriptDependencies(resolve(second), third ? resolve(third) : undefined), null, 2)}\n`);
  } else if (first && second) {
    runtimeTree(first, resolve(second));
  } else {
    console.error("usage: runtime-tree.mjs <service> <out> | --script-deps <file.mjs> [package-lock.json]");
    process.exit(2);
  }
}
