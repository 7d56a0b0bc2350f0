# syntax=docker/dockerfile:1.7
# One image per service, built from a pruned copy of the monorepo:
#   docker build --build-arg SERVICE=gateway -t skyferry/gateway .
# and the local OpenID Connect provider docker-compose.yml runs (scripts/stack/oidc-server.mjs):
#   docker build --target oidc -t skyferry/oidc .
# The runtime image carries compiled JavaScript only (scripts/tools/runtime-tree.mjs): the service's
# esbuild bundle, the npm packages it imports, package.json files; the gateway's also the built web
# console. No TypeScript sources, tests, tsx or other dev tools. It runs as `node`.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS prune
ARG SERVICE
WORKDIR /src
COPY . .
# Only the workspaces this service depends on (package.json files and lockfile under out/json,
# sources under out/full); the gateway also keeps the console it serves.
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=gateway|authz|history|transfer" >&2; exit 1; }; \
    extra=""; if [ "${SERVICE}" = gateway ]; then extra="@skyferry/console"; fi; \
    npx --yes turbo@2.11.11 prune "@skyferry/${SERVICE}" ${extra} --docker

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
COPY --from=prune /src/out/json/ .
RUN npm ci --no-audit --no-fund
COPY --from=prune /src/out/full/ .
COPY scripts/build-service.mjs scripts/
COPY scripts/tools/runtime-tree.mjs scripts/tools/
# Bundle the service (esbuild), build the console for the gateway (vite), and assemble /out: what
# the runtime image holds.
RUN node scripts/build-service.mjs "${SERVICE}" \
    && if [ "${SERVICE}" = gateway ]; then npx turbo run build --filter=@skyferry/console; fi \
    && node scripts/tools/runtime-tree.mjs "${SERVICE}" /out

# The stack's OpenID Connect provider (oauth2-mock-server, issuer pinned by --issuer), for
# docker-compose.yml only: a development provider, never for production.
FROM ${NODE_IMAGE} AS oidc
WORKDIR /app
COPY package-lock.json /tmp/package-lock.json
COPY scripts/tools/runtime-tree.mjs /tmp/runtime-tree.mjs
COPY scripts/stack/oidc-*.mjs scripts/stack/
# Installs exactly the npm packages the script (and its oidc-*.mjs modules) imports, at the versions the repository's lockfile pins.
RUN node /tmp/runtime-tree.mjs --script-deps scripts/stack/oidc-server.mjs /tmp/package-lock.json > package.json \
    && npm install --omit=dev --no-audit --no-fund \
    && rm /tmp/package-lock.json /tmp/runtime-tree.mjs
USER node
EXPOSE 18090
CMD ["node", "scripts/stack/oidc-server.mjs", "-a", "0.0.0.0", "-p", "18090"]

# NATS's trust material for docker-compose.yml (scripts/stack/compose-trust.sh): a CA and the server's
# certificate (openssl), one NKey per identity, the actor key pair, and nats.conf rendered from the
# permission table (packages/contracts/src/permissions.ts, read by Node 24's own type stripping).
FROM ${NODE_IMAGE} AS trust
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package-lock.json /tmp/package-lock.json
COPY scripts/tools/runtime-tree.mjs /tmp/runtime-tree.mjs
COPY scripts/nats-config.mjs scripts/
COPY scripts/stack/trust.sh scripts/stack/compose-trust.sh scripts/stack/
COPY packages/contracts/src packages/contracts/src
RUN node /tmp/runtime-tree.mjs --script-deps scripts/nats-config.mjs /tmp/package-lock.json > package.json \
    && npm install --omit=dev --no-audit --no-fund \
    && rm /tmp/package-lock.json /tmp/runtime-tree.mjs \
    && mkdir -p /trust /out/nats /out/gateway /out/authz /out/history /out/transfer /out/provisioner \
    && chown -R node:node /trust /out
ENV TRUST_NODE=node
USER node
CMD ["bash", "scripts/stack/compose-trust.sh", "/trust", "/out", "skyferry"]

# The default (last) stage: a service.
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
# DATASET_STORE_DIR: the file dataset store (history writes, transfer reads). The folder is made
# here, owned by node, so a named volume mounted on it starts out writable by the service user.
# SKYFERRY_TUS_DIR: the gateway's unfinished tus uploads (Galaxy's resumable uploads), beside it.
ENV SERVICE=${SERVICE} HOST=0.0.0.0 NODE_ENV=production DATASET_STORE_DIR=/data/datasets SKYFERRY_TUS_DIR=/data/tus
RUN mkdir -p /data/datasets /data/tus && chown -R node:node /data
WORKDIR /app
COPY --from=build /out/ /app/
USER node
# The service runs as one bundled module, with its own node flags when it has a
# services/<name>/node-flags file. Health: GET /readyz (docker-compose.yml, deploy/k8s).
CMD ["sh", "-c", "exec node --enable-source-maps $(cat services/${SERVICE}/node-flags 2>/dev/null) services/${SERVICE}/dist/server.mjs"]
