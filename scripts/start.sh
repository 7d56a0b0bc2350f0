#!/usr/bin/env bash
# The README's run command: brings up the local stack, then the four services (the transfer
# service as 2 worker processes), waits until each is ready, prints the gateway URL, and on
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
stack_dir=${SKYFERRY_STACK_DIR:-$repo/.stack}
started_stack=0
pids=()

log() { printf '[start] %s\n' "$*"; }

stop_all() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping services"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for pid in "${pids[@]}"; do
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  if [ "$started_stack" = 1 ] && [ "${SKYFERRY_KEEP_STACK:-0}" != 1 ]; then
    bash scripts/stack.sh down || true
  fi
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

# shellcheck source=use-node.sh
source scripts/use-node.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
# The web console the gateway serves at / (packages/console/dist).
npx turbo run build --filter=@skyferry/console --output-logs=errors-only
# Each service as one bundled module run by plain node (scripts/build-service.mjs; ~1 s each).
for svc in gateway authz history transfer; do node scripts/build-service.mjs "$svc"; done
bash scripts/stack.sh status >/dev/null 2>&1 || started_stack=1
bash scripts/stack.sh up
# shellcheck disable=SC1091
source "$stack_dir/env"

# Run-time secrets for this machine, generated once and kept beside the stack (never committed).
secrets="$stack_dir/secrets.env"
if [ ! -f "$secrets" ]; then
  umask 077
  {
    echo "export SKYFERRY_ENCRYPTION_KEYS='{\"k1\":\"$(openssl rand -base64 32)\"}'"
    echo "export SKYFERRY_ENCRYPTION_KEY_ID=k1"
    echo "export SKYFERRY_INTERNAL_TOKEN=$(openssl rand -hex 24)"
    echo "export SKYFERRY_OIDC_CLIENT_SECRET=$(openssl rand -hex 24)"
  } > "$secrets"
fi
# shellcheck disable=SC1090
source "$secrets"

port=${PORT:-8080}
export SKYFERRY_PUBLIC_URL=${SKYFERRY_PUBLIC_URL:-http://localhost:$port}
# The local OpenID Connect provider, under the name `local`, so a person can sign in without Google.
export SKYFERRY_OIDC_PROVIDERS=${SKYFERRY_OIDC_PROVIDERS:-"[{\"name\":\"local\",\"issuer\":\"$OIDC_ISSUER\",\"client_id\":\"${OIDC_CLIENT_ID:-skyferry-local}\",\"client_secret\":\"$SKYFERRY_OIDC_CLIENT_SECRET\",\"allow_insecure_http\":true}]"}
export DATASET_STORE_DIR=${DATASET_STORE_DIR:-$stack_dir/datasets}
export SKYFERRY_HISTORY_URL=${SKYFERRY_HISTORY_URL:-http://127.0.0.1:8082}
# `aws` authorizations on the local stack: radosgw's STS, trusting the local OpenID Connect provider.
if [[ -n ${S3_STS_ENDPOINT:-} ]]; then
  export SKYFERRY_AWS_STS_ENDPOINT=${SKYFERRY_AWS_STS_ENDPOINT:-$S3_STS_ENDPOINT} SKYFERRY_AWS_S3_ENDPOINT=${SKYFERRY_AWS_S3_ENDPOINT:-$S3_ENDPOINT}
fi
# The outbound policy refuses loopback for user-supplied endpoints: allow the stack's own radosgw
# (S3 and STS), Azurite and OpenID Connect provider, as host:port, and nothing else on loopback.
hostport() { local u=${1#*://}; u=${u%%/*}; [[ $u == *:* ]] && echo "$u" || { [[ $1 == https:* ]] && echo "$u:443" || echo "$u:80"; }; }
if [[ -z ${SKYFERRY_OUTBOUND_ALLOW:-} ]]; then
  allow=()
  for u in "${S3_ENDPOINT:-}" "${S3_STS_ENDPOINT:-}" "${AZURE_BLOB_ENDPOINT:-}" "${AZURE_OAUTH_BLOB_ENDPOINT:-}" "${OIDC_ISSUER:-}"; do
    if [[ -z $u ]]; then continue; fi
    hp=$(hostport "$u")
    allow+=("$hp")
    # The same server by the name people type for it (localhost may also resolve to ::1).
    if [[ $hp == 127.0.0.1:* ]]; then allow+=("localhost:${hp#*:}"); fi
  done
  SKYFERRY_OUTBOUND_ALLOW=$(IFS=,; echo "${allow[*]}")
  export SKYFERRY_OUTBOUND_ALLOW
fi
mkdir -p "$DATASET_STORE_DIR" "$stack_dir/logs"

# A port that already answers belongs to another program (another npm start?): our service would
# fail to listen while that program answered our readiness checks.
for p in 8081 8082 8083 8084 "$port" 9081 9082 9083 9084 $((port + 1000)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    log "port $p is already in use by another program; stop it first (ss -ltnp 'sport = :$p' shows which)"
    exit 1
  fi
done

declare -A pid_of
run() { # name port
  local name=$1 svc_port=$2 svc=${1%-[0-9]}
  # A service's own node flags, when it has any, are in services/<svc>/node-flags (the Dockerfile
  # and the benches read the same file).
  local flags=()
  [[ -f services/$svc/node-flags ]] && read -ra flags < "services/$svc/node-flags"
  # Each service connects to NATS as its own identity (docs/trust.md), under its own permissions;
  # only the gateway holds the actor signing key.
  local signing=()
  [[ $svc == gateway ]] || signing=(-u SKYFERRY_ACTOR_SIGNING_KEY_FILE)
  # Its Prometheus /metrics on a port of its own: the service's port + 1000 (gateway 9080).
  env "${signing[@]}" PORT="$svc_port" SKYFERRY_METRICS_PORT=$((svc_port + 1000)) SKYFERRY_NATS_NKEY_SEED_FILE="$SKYFERRY_NATS_SEED_DIR/$svc.nk" \
    node --enable-source-maps "${flags[@]}" "services/$svc/dist/server.mjs" > "$stack_dir/logs/$name.log" 2>&1 &
  pids+=($!)
  pid_of[$name]=$!
  log "$name: pid $! on port $svc_port (log: $stack_dir/logs/$name.log)"
}
# The JetStream streams and consumers, made before transfer starts by the one identity allowed to
# (docs/trust.md): transfer only checks them (not ready until they exist).
log "provisioning JetStream streams and consumers (as provisioner)"
# A stack brought up before the provisioner identity existed: give it its seed and NATS its grants.
[[ -f $SKYFERRY_NATS_SEED_DIR/provisioner.nk ]] || bash scripts/stack.sh nats-reload
env -u SKYFERRY_ACTOR_SIGNING_KEY_FILE SKYFERRY_NATS_NKEY_SEED_FILE="$SKYFERRY_NATS_SEED_DIR/provisioner.nk" \
  node --enable-source-maps services/transfer/dist/provision.mjs > "$stack_dir/logs/provision.log" 2>&1 \
  || { log "provisioning failed; its log:"; tail -n 20 "$stack_dir/logs/provision.log"; exit 1; }
run authz 8081
run history 8082
run transfer-1 8083
run transfer-2 8084
run gateway "$port"

wait_ready() { # name port
  for _ in $(seq 1 150); do
    if ! kill -0 "${pid_of[$1]}" 2>/dev/null; then log "$1 exited; last log lines:"; tail -n 20 "$stack_dir/logs/$1.log" || true; return 1; fi
    if curl -fs "http://127.0.0.1:$2/readyz" >/dev/null 2>&1; then log "$1 ready"; return 0; fi
    sleep 0.2
  done
  log "$1 did not become ready; last log lines:"; tail -n 20 "$stack_dir/logs/$1.log" || true
  return 1
}
wait_ready authz 8081
wait_ready history 8082
wait_ready transfer-1 8083
wait_ready transfer-2 8084
wait_ready gateway "$port"

log "skyferry is up: gateway http://localhost:$port  (sign in: http://localhost:$port/authnz/local/login?redirect=true)"
log "press Ctrl-C to stop everything started here"
wait -n "${pids[@]}" || true
log "a service exited; stopping"
