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
WORKDIR /app
COPY --from=prune /src/out/json/ .
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=prune /src/out/full/ .

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV SERVICE=${SERVICE} HOST=0.0.0.0 NODE_ENV=production
WORKDIR /app
COPY --from=install --chown=node:node /app /app
USER node
# The services run their TypeScript sources through tsx (a runtime dependency of each service).
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE}/src/server.ts"]
