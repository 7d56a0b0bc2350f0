# syntax=docker/dockerfile:1.7
# One image per service, built from a pruned copy of the monorepo:
#   docker build --build-arg SERVICE=gateway -t skyferry/gateway .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS prune
ARG SERVICE
WORKDIR /src
COPY . .
# Keep only the workspaces this service depends on (package.json files under out/json, sources under out/full).
RUN npx --yes turbo@2 prune "@skyferry/${SERVICE}" --docker

FROM ${NODE_IMAGE} AS install
ARG SERVICE
WORKDIR /app
COPY --from=prune /src/out/json/ .
RUN npm ci --no-audit --no-fund
COPY --from=prune /src/out/full/ .
COPY --from=prune /src/scripts/build-service.mjs scripts/
# Bundle the service (esbuild, a dev dependency), then drop the dev dependencies.
RUN node scripts/build-service.mjs "${SERVICE}" && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV SERVICE=${SERVICE} HOST=0.0.0.0 NODE_ENV=production
WORKDIR /app
COPY --from=install --chown=node:node /app /app
USER node
# The service runs as one bundled module (scripts/build-service.mjs, built in the install stage),
# with its own node flags when it has a services/<name>/node-flags file.
CMD ["sh", "-c", "exec node --enable-source-maps $(cat services/${SERVICE}/node-flags 2>/dev/null) services/${SERVICE}/dist/server.mjs"]
