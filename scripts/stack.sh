#!/usr/bin/env bash
# Local test stack for skyferry: real servers on 127.0.0.1, state under $SKYFERRY_STACK_DIR (default
# <repo>/.stack, gitignored).
#
#   scripts/stack.sh install   install missing servers (apt, FerretDB via Go, npm devDependencies check)
#   scripts/stack.sh up        install + start everything, wait until each is ready, write $STATE/env
#                              (reuses a healthy running stack; safe to run concurrently: flock)
#   scripts/stack.sh down      stop the recorded PIDs (TERM, wait, KILL) and delete runtime data (keeps logs)
#   scripts/stack.sh status    one line per server; exit 1 if any is down
#   scripts/stack.sh env       print the env file: eval "$(scripts/stack.sh env)", or source $STATE/env
#   scripts/stack.sh gc        free deleted objects' data in radosgw now (benchmarks: memstore is RAM)
#   scripts/stack.sh ferretdb <port>   another FerretDB, in the foreground, on 127.0.0.1:<port> over the
#                              running stack's PostgreSQL (the same data): fault tests kill and restart
#                              it without touching the stack's own (test/fault)
#   scripts/stack.sh nats-reload   re-render NATS's permissions from packages/contracts/src/permissions.ts
#                              (same keys and certificates) and have the running nats-server reload them
#
# The env file ($STATE/env) holds `export NAME=value` lines: SKYFERRY_STACK_DIR, SKYFERRY_NATS_URL,
# MONGO_URL, S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, AZURE_BLOB_ENDPOINT,
# AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY, AZURE_OAUTH_BLOB_ENDPOINT, SKYFERRY_TEST_CA (self-signed
# cert of the HTTPS Azurite), OIDC_ISSUER, OIDC_CLIENT_ID, S3_STS_ENDPOINT, S3_STS_ROLE_ARN (a role at
# radosgw's STS that OIDC_ISSUER's ID tokens for OIDC_CLIENT_ID may assume), SKYFERRY_STACK_READY=1;
# and NATS's trust material (docs/trust.md, made by scripts/stack/trust.sh under $STATE/trust):
# SKYFERRY_NATS_URL=tls://..., SKYFERRY_NATS_TLS_CA_FILE, SKYFERRY_NATS_SEED_DIR (one <identity>.nk
# per identity), SKYFERRY_NATS_NKEY_SEED_FILE (the `operator` seed: tools and tests connecting as
# themselves), SKYFERRY_ACTOR_SIGNING_KEY_FILE, SKYFERRY_ACTOR_PUBLIC_KEY_FILE.
# NATS authenticates every connection (NKeys), speaks TLS only, and grants each identity the
# subjects packages/contracts/src/permissions.ts gives it (in every namespace: tests use one each).
# SKYFERRY_NATS_DEBUG=1 starts nats-server with -DV (every protocol line in logs/nats.log).
# Ports: SKYFERRY_{NATS,NATS_MONITOR,MONGO,POSTGRES,CEPH_MON,RGW,AZURITE,AZURITE_OAUTH,OIDC}_PORT;
# SKYFERRY_CEPH_MEMSTORE_BYTES (default 4 GiB).
#
# Servers: NATS+JetStream, MongoDB wire protocol (FerretDB on PostgreSQL -- or on SQLite with
# SKYFERRY_FERRETDB_BACKEND=sqlite --, or mongod if on PATH, or none if MONGO_URL is set), Ceph radosgw (mon + memstore OSD + RGW, S3/STS/IAM), Azurite blob (shared key),
# Azurite blob over HTTPS with OAuth, oauth2-mock-server (OpenID Connect).
# Every secret (S3 keys, Azure key, RGW STS key, TLS key) is generated at run time into the state dir.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/scripts/stack"
STATE="${SKYFERRY_STACK_DIR:-$REPO/.stack}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
TOOLS="${SKYFERRY_TOOLS_DIR:-$HOME/.cache/skyferry/bin}"
export PATH="$TOOLS:$PATH"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
RUN="$STATE/run"
ENV_FILE="$STATE/env"
PROBE=(node "$HERE/probe.mjs")

# ------------------------------------------------------------------ configuration (env-overridable)
NATS_PORT="${SKYFERRY_NATS_PORT:-4222}"
NATS_MONITOR_PORT="${SKYFERRY_NATS_MONITOR_PORT:-8222}"
MONGO_PORT="${SKYFERRY_MONGO_PORT:-27017}"
FERRETDB_DEBUG_ADDR="${SKYFERRY_FERRETDB_DEBUG_ADDR:--}" # "-" disables FerretDB's debug/metrics HTTP listener
FERRETDB_LOG_LEVEL="${SKYFERRY_FERRETDB_LOG_LEVEL:-error}" # warn dumps every error answer, such as each write conflict
# FerretDB's storage: PostgreSQL (default; Debian's package, a cluster of the stack's own) or SQLite
# (embedded in FerretDB, ~10-40x slower per operation and scanning on every find: `npm run bench:db`).
FERRETDB_BACKEND="${SKYFERRY_FERRETDB_BACKEND:-postgresql}"
POSTGRES_PORT="${SKYFERRY_POSTGRES_PORT:-27432}"
CEPH_MON_PORT="${SKYFERRY_CEPH_MON_PORT:-3300}"
RGW_PORT="${SKYFERRY_RGW_PORT:-7480}"
MEMSTORE_BYTES="${SKYFERRY_CEPH_MEMSTORE_BYTES:-4294967296}" # 4 GiB, held in RAM by the OSD
AZURITE_PORT="${SKYFERRY_AZURITE_PORT:-10000}"
AZURITE_OAUTH_PORT="${SKYFERRY_AZURITE_OAUTH_PORT:-10010}"
OIDC_PORT="${SKYFERRY_OIDC_PORT:-18090}"
OIDC_CLIENT_ID="skyferry-local"         # scripts/start.sh registers the `local` provider with this id
STS_ROLE="skyferry-web-identity"        # radosgw role for OIDC_ISSUER's web identities (sts_setup)
AZURE_ACCOUNT="skyferry"
S3_REGION="us-east-1"
S3_USER="skyferry"
READY_TIMEOUT="${SKYFERRY_STACK_TIMEOUT:-60}"        # seconds, per server
CEPH_TIMEOUT="${SKYFERRY_STACK_CEPH_TIMEOUT:-120}"   # seconds, per ceph daemon
LOCK_TIMEOUT="${SKYFERRY_STACK_LOCK_TIMEOUT:-900}"   # seconds to wait for a concurrent up/down

LOCAL_MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT"
pg_bin_dir() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1; }
PG_BIN="$(pg_bin_dir)"
# Which MongoDB: MONGO_URL from the environment wins (no server started) -- unless it is just our own
# URL coming from a sourced stack env file; else mongod if on PATH; else FerretDB.
if [[ -n ${MONGO_URL:-} && ! (${SKYFERRY_STACK_READY:-} == 1 && $MONGO_URL == "$LOCAL_MONGO_URL") ]]; then
  MONGO_MODE=external
  EXTERNAL_MONGO_URL="$MONGO_URL"
elif command -v mongod >/dev/null 2>&1; then
  MONGO_MODE=mongod
else
  MONGO_MODE=ferretdb
fi
# the servers of this stack, in start order (ceph-* and radosgw together form "S3")
SERVERS=(nats mongo ceph-mon ceph-osd radosgw azurite azurite-oauth oidc)
case "$FERRETDB_BACKEND" in
  postgresql) [[ $MONGO_MODE == ferretdb ]] && SERVERS=(nats postgres "${SERVERS[@]:1}") ;;
  sqlite) ;;
  *) printf '[stack] ERROR: SKYFERRY_FERRETDB_BACKEND must be postgresql or sqlite, not %s\n' "$FERRETDB_BACKEND" >&2; exit 2 ;;
esac
STACK_LAYOUT=4 # bump when a change to these scripts needs a running stack to be restarted
NATS_DEBUG="${SKYFERRY_NATS_DEBUG:-0}"
CONFIG="layout=$STACK_LAYOUT nats=$NATS_PORT/$NATS_MONITOR_PORT/debug=$NATS_DEBUG mongo=$MONGO_MODE:${EXTERNAL_MONGO_URL:-$MONGO_PORT}/$FERRETDB_BACKEND/$POSTGRES_PORT ferretdb-debug=$FERRETDB_DEBUG_ADDR \
ceph=$CEPH_MON_PORT/$RGW_PORT/$MEMSTORE_BYTES azurite=$AZURITE_PORT/$AZURITE_OAUTH_PORT oidc=$OIDC_PORT"

# ------------------------------------------------------------------ helpers
log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

lock() { # exclusive lock on the state dir for up/down; fd 9 is closed for every daemon we start
  exec 9>"$STATE/.lock"
  if ! flock -n 9; then
    log "another 'stack.sh up/down' holds $STATE/.lock; waiting (up to ${LOCK_TIMEOUT}s)"
    flock -w "$LOCK_TIMEOUT" 9 || die "timed out waiting for $STATE/.lock"
  fi
}

# A recorded server is alive when its PID exists, is not a zombie, and its command line still
# contains the marker recorded at launch (guards against PID reuse and against killing strangers).
pid_of() { [[ -f $PIDS/$1.pid ]] && cat "$PIDS/$1.pid"; }
alive() {
  local pid marker cmdline
  pid="$(pid_of "$1" 2>/dev/null)" || return 1
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  marker="$(cat "$PIDS/$1.marker" 2>/dev/null)" || return 1
  cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
  [[ -n $cmdline && $cmdline == *"$marker"* ]]
}

# launch <name> <marker> <command...>: start detached (own session, stdin closed, lock fd closed),
# output appended to $LOGS/<name>.log, PID recorded.
launch() {
  local name="$1" marker="$2"
  shift 2
  mkdir -p "$PIDS" "$LOGS"
  printf '\n===== %s starting %s\n' "$(date -u +%FT%TZ)" "$name" >>"$LOGS/$name.log"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
  local pid=$!
  echo "$pid" >"$PIDS/$name.pid"
  echo "$marker" >"$PIDS/$name.marker"
  now >"$RUN/$name.started"
}

fail_server() { # <name> <message>
  {
    printf '[stack] ERROR: %s: %s\n' "$1" "$2"
    printf '[stack] ---- last 40 lines of %s ----\n' "$LOGS/$1.log"
    tail -n 40 "$LOGS/$1.log" 2>/dev/null | sed 's/^/    /'
    printf '[stack] ----\n'
  } >&2
  return 1
}

# wait_ready <name> <timeout-seconds> <probe command...>: poll until the probe succeeds.
wait_ready() {
  local name="$1" timeout="$2"
  shift 2
  local start deadline out=""
  start="$(cat "$RUN/$name.started" 2>/dev/null || now)"
  deadline=$((SECONDS + timeout))
  while :; do
    if out="$("$@" 2>&1)"; then
      since "$start" >"$RUN/$name.took"
      return 0
    fi
    if [[ -f $PIDS/$name.pid ]] && ! alive "$name"; then
      fail_server "$name" "process $(pid_of "$name") exited before becoming ready (last probe: ${out:0:300})"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      fail_server "$name" "not ready after ${timeout}s (last probe: ${out:0:300})"
      return 1
    fi
    sleep 0.1
  done
}

port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
curl_ok() { curl -fsS --noproxy '*' --max-time 5 -o /dev/null "$@"; }
http_any() { # any HTTP answer at all (status != 000)
  local code; code="$(curl -sS --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' "$@")" || true
  [[ $code != 000 && -n $code ]]
}

ENV_READ="$ENV_FILE" # during `up`, probes read the not-yet-published env from $RUN/env.pending
env_get() { # value of NAME in the env file
  [[ -f $ENV_READ ]] || return 1
  (set +u; . "$ENV_READ" && printf '%s' "${!1:-}")
}

rand_alnum() { # <n>: n random [A-Za-z0-9] characters
  local s=""
  while ((${#s} < $1)); do s+="$(openssl rand -base64 64 | tr -dc 'A-Za-z0-9')"; done
  printf '%s' "${s:0:$1}"
}

# ------------------------------------------------------------------ probes (one per server)
probe() { # <name>: real request against the running server, using the env file's credentials
  case "$1" in
    nats) curl_ok "http://127.0.0.1:$NATS_MONITOR_PORT/healthz?js-enabled-only=true" ;;
    mongo) "${PROBE[@]}" mongo "$(env_get MONGO_URL || echo "${EXTERNAL_MONGO_URL:-$LOCAL_MONGO_URL}")" ;;
    postgres) "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -d ferretdb -U postgres ;;
    ceph-mon | ceph-osd) alive "$1" ;; # proven by radosgw answering signed requests
    radosgw)
      [[ $("${PROBE[@]}" s3 "http://127.0.0.1:$RGW_PORT" "$S3_REGION" "$(env_get S3_ACCESS_KEY_ID)" \
        "$(env_get S3_SECRET_ACCESS_KEY)" GET /) == 200 ]] ;;
    azurite) "${PROBE[@]}" azure-list "http://127.0.0.1:$AZURITE_PORT/$AZURE_ACCOUNT" "$AZURE_ACCOUNT" "$(env_get AZURE_STORAGE_KEY)" ;;
    azurite-oauth)
      "${PROBE[@]}" azure-list "https://127.0.0.1:$AZURITE_OAUTH_PORT/$AZURE_ACCOUNT" "$AZURE_ACCOUNT" \
        "$(env_get AZURE_STORAGE_KEY)" "$STATE/tls/cert.pem" ;;
    oidc) # discovery must answer 200 and advertise exactly our issuer
      [[ $(curl -fsS --noproxy '*' --max-time 5 "http://127.0.0.1:$OIDC_PORT/.well-known/openid-configuration") == \
        *"\"issuer\":\"http://127.0.0.1:$OIDC_PORT\""* ]] ;;
  esac
}

server_up() { # <name>: recorded process alive (if we run one) and its probe answers
  if [[ $1 == mongo && $MONGO_MODE == external ]]; then probe mongo >/dev/null 2>&1; return; fi
  alive "$1" && probe "$1" >/dev/null 2>&1
}

stack_healthy() {
  [[ -f $ENV_FILE && $(env_get SKYFERRY_STACK_READY) == 1 ]] || return 1
  [[ $(cat "$STATE/config" 2>/dev/null) == "$CONFIG" ]] || { log "stack config changed; restarting"; return 1; }
  local s
  for s in "${SERVERS[@]}"; do server_up "$s" || { log "$s is down"; return 1; }; done
}

endpoint_of() {
  case "$1" in
    nats) echo "tls://127.0.0.1:$NATS_PORT  (NKeys + TLS; monitor http://127.0.0.1:$NATS_MONITOR_PORT)" ;;
    mongo) if [[ $MONGO_MODE == external ]]; then echo "${EXTERNAL_MONGO_URL//\/\/*@//***@}  (external MONGO_URL)"
           elif [[ $MONGO_MODE == ferretdb ]]; then echo "$LOCAL_MONGO_URL  (FerretDB on $FERRETDB_BACKEND)"
           else echo "$LOCAL_MONGO_URL  ($MONGO_MODE)"; fi ;;
    postgres) echo "127.0.0.1:$POSTGRES_PORT  (PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), FerretDB's storage)" ;;
    ceph-mon) echo "v2:127.0.0.1:$CEPH_MON_PORT" ;;
    ceph-osd) echo "memstore $((MEMSTORE_BYTES / 1048576)) MiB" ;;
    radosgw) echo "http://127.0.0.1:$RGW_PORT  (S3, STS, IAM)" ;;
    azurite) echo "http://127.0.0.1:$AZURITE_PORT/$AZURE_ACCOUNT  (shared key)" ;;
    azurite-oauth) echo "https://127.0.0.1:$AZURITE_OAUTH_PORT/$AZURE_ACCOUNT  (OAuth + shared key)" ;;
    oidc) echo "http://127.0.0.1:$OIDC_PORT  (issuer)" ;;
  esac
}

print_table() { # <"timings"|"reused">
  local s pid took
  printf '%-14s %-8s %-9s %s\n' SERVER PID READY-IN ENDPOINT
  for s in "${SERVERS[@]}"; do
    pid="$(pid_of "$s" 2>/dev/null || echo -)"
    if [[ $1 == reused ]]; then took="reused"; else took="$(cat "$RUN/$s.took" 2>/dev/null || echo -)s"; fi
    [[ $s == mongo && $MONGO_MODE == external ]] && pid="-"
    printf '%-14s %-8s %-9s %s\n' "$s" "$pid" "$took" "$(endpoint_of "$s")"
  done
  [[ $1 == reused || ! -f $RUN/s3-setup.took ]] || printf '%-14s %-8s %-9s %s\n' "s3 setup" - "$(cat "$RUN/s3-setup.took")s" \
    "user '$S3_USER' + caps + first CreateBucket/DeleteBucket (pool creation)"
  [[ $1 == reused || ! -f $RUN/sts-setup.took ]] || printf '%-14s %-8s %-9s %s\n' "sts setup" - "$(cat "$RUN/sts-setup.took")s" \
    "OIDC provider $OIDC_CLIENT_ID@127.0.0.1:$OIDC_PORT + role $STS_ROLE"
  printf 'env file: %s   (use: set -a; . %s; set +a   or   eval "$(scripts/stack.sh env)")\n' "$ENV_FILE" "$ENV_FILE"
}

# ------------------------------------------------------------------ stop
running() { # <pid>: exists and is not a zombie (an exiting process may already show an empty cmdline)
  [[ -r /proc/$1/stat ]] || return 1
  local st; st="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

stop_group() { # <names...>: TERM the recorded live PIDs, wait up to 15 s for them to be gone, then KILL
  local s pids=() names=()
  for s in "$@"; do
    if alive "$s"; then
      pids+=("$(pid_of "$s")"); names+=("$s")
      kill -TERM "$(pid_of "$s")" 2>/dev/null || true
    fi
  done
  ((${#pids[@]})) || return 0
  log "stopping ${names[*]}"
  local deadline=$((SECONDS + 15)) left p
  while :; do
    left=()
    for p in "${pids[@]}"; do running "$p" && left+=("$p"); done
    ((${#left[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      log "still running after 15 s, sending SIGKILL to PID(s) ${left[*]}"
      kill -KILL "${left[@]}" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      while ((SECONDS < deadline)); do
        left=(); for p in "${pids[@]}"; do running "$p" && left+=("$p"); done
        ((${#left[@]} == 0)) && return 0
        sleep 0.1
      done
      log "WARNING: PID(s) ${left[*]} survived SIGKILL"
      return 0
    fi
    sleep 0.1
  done
}

stop_all() {
  # Ceph in dependency order: radosgw hangs on SIGTERM (until its 120 s alarm) when the OSD is already
  # gone, and an OSD reports its shutdown to the mon (waiting 5 s if the mon is gone).
  stop_group nats mongo radosgw azurite azurite-oauth oidc
  stop_group postgres # after FerretDB, its only client: TERM is PostgreSQL's "smart" shutdown
  stop_group ceph-osd
  stop_group ceph-mon
  rm -rf "$PIDS"
}

clean_runtime() { # everything but logs and the lock file
  # a PostgreSQL cluster kept under /tmp (see start_postgres) goes with its link
  if [[ -L $STATE/postgres ]]; then rm -rf "$(readlink "$STATE/postgres")"; fi
  rm -rf "$ENV_FILE" "$STATE/config" "$RUN" "$PIDS" "$STATE/nats" "$STATE/ferretdb" "$STATE/ferretdb-extra" "$STATE/mongo" "$STATE/postgres" \
    "$STATE/ceph" "$STATE/azurite" "$STATE/azurite-oauth" "$STATE/tls" "$STATE/trust" "$STATE"/env.tmp.*
}

# ------------------------------------------------------------------ start
# PostgreSQL for FerretDB: a cluster of the stack's own under $STATE/postgres (trust authentication,
# loopback only), owned by the `postgres` user when we are root (PostgreSQL refuses to run as root).
# Then scripts/stack/ferretdb-postgresql.sql: GIN indexes for FerretDB's pushed-down filters.
start_postgres() {
  local D="$STATE/postgres" as=()
  mkdir -p "$D"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "PostgreSQL is installed but there is no 'postgres' user to run it as"
    as=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env)
    # The cluster must be reachable by `postgres`: if some parent of $STATE is closed to it, keep
    # the cluster in a private folder under /tmp (removed by `down` with the link).
    if ! "${as[@]}" test -x "$D"; then
      rm -rf "$D"
      D="$(mktemp -d /tmp/skyferry-postgres.XXXXXX)"
      ln -s "$D" "$STATE/postgres"
    fi
    chown postgres: "$D"
  fi
  "${as[@]}" "$PG_BIN/initdb" -D "$D/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >>"$LOGS/postgres.log" 2>&1 ||
    die "initdb failed (see $LOGS/postgres.log)"
  mkdir -p "$D/socket"
  ((${#as[@]} == 0)) || chown postgres: "$D/socket"
  launch postgres "$D/data" "${as[@]}" "$PG_BIN/postgres" -D "$D/data" -p "$POSTGRES_PORT" -k "$D/socket" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c shared_buffers=256MB -c max_connections=300 -c log_min_messages=warning -c log_min_error_statement=fatal
  wait_ready postgres "$READY_TIMEOUT" probe postgres || return 1
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres ferretdb >>"$LOGS/postgres.log" 2>&1 &&
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d ferretdb \
      -f "$HERE/ferretdb-postgresql.sql" >>"$LOGS/postgres.log" 2>&1 ||
    { fail_server postgres "could not create FerretDB's database (see $LOGS/postgres.log)"; return 1; }
}

start_ceph() { # mon -> osd -> radosgw -> S3 user -> warm-up; runs in a background subshell
  local D="$STATE/ceph" fsid sts id
  local C=(-c "$D/ceph.conf")
  mkdir -p "$D"/{run,log,mon,osd,rgw,crash}
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  sts="$(rand_alnum 16)"
  sed -e "s|@DIR@|$D|g" -e "s|@FSID@|$fsid|g" -e "s|@MON_PORT@|$CEPH_MON_PORT|g" -e "s|@RGW_PORT@|$RGW_PORT|g" \
    -e "s|@MEMSTORE_BYTES@|$MEMSTORE_BYTES|g" -e "s|@STS_KEY@|$sts|g" "$HERE/ceph.conf.tmpl" >"$D/ceph.conf"
  chmod 600 "$D/ceph.conf"

  now >"$RUN/ceph-mon.started"
  {
    ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *'
    monmaptool --create --addv a "[v2:127.0.0.1:$CEPH_MON_PORT]" --fsid "$fsid" "$D/monmap"
    ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
  } >>"$LOGS/ceph-mon.log" 2>&1 || fail_server ceph-mon "mkfs failed"
  launch ceph-mon "$D/ceph.conf" ceph-mon "${C[@]}" -i a -f --log-file="$LOGS/ceph-mon.log"
  wait_ready ceph-mon "$CEPH_TIMEOUT" ceph "${C[@]}" --connect-timeout 5 mon stat

  now >"$RUN/ceph-osd.started"
  id="$(ceph "${C[@]}" --connect-timeout 10 osd create 2>>"$LOGS/ceph-osd.log")" || fail_server ceph-osd "'ceph osd create' failed"
  mkdir -p "$D/osd/ceph-$id"
  ceph-osd "${C[@]}" -i "$id" --mkfs >>"$LOGS/ceph-osd.log" 2>&1 || fail_server ceph-osd "mkfs failed"
  launch ceph-osd "$D/ceph.conf" ceph-osd "${C[@]}" -i "$id" -f --log-file="$LOGS/ceph-osd.log"
  wait_ready ceph-osd "$CEPH_TIMEOUT" bash -c '[[ $(ceph "$@" --connect-timeout 5 osd stat) == *"1 up"* ]]' _ "${C[@]}"

  launch radosgw "$D/ceph.conf" radosgw "${C[@]}" -n client.admin -f --log-file="$LOGS/radosgw.log"
  wait_ready radosgw "$CEPH_TIMEOUT" http_any "http://127.0.0.1:$RGW_PORT/"

  local t0; t0="$(now)"
  {
    timeout 60 radosgw-admin "${C[@]}" user create --uid="$S3_USER" --display-name="skyferry tests" \
      --access-key="$S3_ACCESS_KEY_ID" --secret-key="$S3_SECRET_ACCESS_KEY" >/dev/null &&
    timeout 60 radosgw-admin "${C[@]}" caps add --uid="$S3_USER" --caps="roles=*;oidc-provider=*;user-policy=*" >/dev/null
  } 2>>"$LOGS/radosgw.log" || fail_server radosgw "radosgw-admin user create / caps add failed"
  # first bucket operation creates the data pools (~2 s): pay it here, not in the tests
  wait_ready radosgw 60 "${PROBE[@]}" s3-ready "http://127.0.0.1:$RGW_PORT" "$S3_REGION" \
    "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY" skyferry-ready-check
  since "$t0" >"$RUN/s3-setup.took"
  # radosgw's "took" is from its launch to "answers a signed S3 call"
}

# ------------------------------------------------------------------ STS (AssumeRoleWithWebIdentity)
# Registers the stack's OIDC issuer with radosgw's IAM and creates role $STS_ROLE for its ID tokens
# (scripts/stack/sts-setup.mjs, idempotent). <access-key> <secret-key>; prints the role ARN.
sts_setup() {
  local t0; t0="$(now)"
  S3_ACCESS_KEY_ID="$1" S3_SECRET_ACCESS_KEY="$2" timeout 60 node "$HERE/sts-setup.mjs" "http://127.0.0.1:$RGW_PORT" \
    "$S3_REGION" "http://127.0.0.1:$OIDC_PORT" "$OIDC_CLIENT_ID" "$STS_ROLE" 2>>"$LOGS/radosgw.log" ||
    { fail_server radosgw "STS set-up (scripts/stack/sts-setup.mjs) failed"; return 1; }
  since "$t0" >"$RUN/sts-setup.took"
}

# A stack started before the STS set-up existed: give it the STS role without restarting radosgw
# (the OIDC server is restarted only if its JWKS lacks the x5c certificate radosgw needs).
sts_upgrade() {
  [[ -z $(env_get S3_STS_ROLE_ARN) ]] || return 0
  log "adding the STS set-up to the running stack"
  mkdir -p "$RUN"
  if [[ $(curl -fsS --noproxy '*' --max-time 5 "http://127.0.0.1:$OIDC_PORT/jwks") != *'"x5c"'* ]]; then
    stop_group oidc
    launch oidc "oidc-server.mjs -a 127.0.0.1 -p $OIDC_PORT" node "$HERE/oidc-server.mjs" -a 127.0.0.1 -p "$OIDC_PORT"
    wait_ready oidc "$READY_TIMEOUT" probe oidc || return 1
  fi
  local arn tmp="$ENV_FILE.tmp.$$"
  arn="$(sts_setup "$(env_get S3_ACCESS_KEY_ID)" "$(env_get S3_SECRET_ACCESS_KEY)")" || return 1
  { grep -v '^export SKYFERRY_STACK_READY=' "$ENV_FILE"
    printf 'export %s=%q\n' OIDC_CLIENT_ID "$OIDC_CLIENT_ID" S3_STS_ENDPOINT "http://127.0.0.1:$RGW_PORT" S3_STS_ROLE_ARN "$arn" SKYFERRY_STACK_READY 1
  } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

write_env() { # <destination> <ready: 0|1>
  local tmp="$1.tmp.$$" mongo_url="$LOCAL_MONGO_URL"
  [[ $MONGO_MODE == external ]] && mongo_url="$EXTERNAL_MONGO_URL"
  {
    echo "# skyferry local test stack ($STATE) -- generated by scripts/stack.sh up; secrets are per-stack random"
    printf 'export %s=%q\n' \
      SKYFERRY_STACK_DIR "$STATE" \
      SKYFERRY_NATS_URL "tls://127.0.0.1:$NATS_PORT" \
      SKYFERRY_NATS_TLS_CA_FILE "$STATE/trust/ca.pem" \
      SKYFERRY_NATS_SEED_DIR "$STATE/trust/seeds" \
      SKYFERRY_NATS_NKEY_SEED_FILE "$STATE/trust/seeds/operator.nk" \
      SKYFERRY_ACTOR_SIGNING_KEY_FILE "$STATE/trust/actor.pem" \
      SKYFERRY_ACTOR_PUBLIC_KEY_FILE "$STATE/trust/actor.pub.pem" \
      MONGO_URL "$mongo_url" \
      S3_ENDPOINT "http://127.0.0.1:$RGW_PORT" \
      S3_REGION "$S3_REGION" \
      S3_ACCESS_KEY_ID "$S3_ACCESS_KEY_ID" \
      S3_SECRET_ACCESS_KEY "$S3_SECRET_ACCESS_KEY" \
      AZURE_BLOB_ENDPOINT "http://127.0.0.1:$AZURITE_PORT/$AZURE_ACCOUNT" \
      AZURE_STORAGE_ACCOUNT "$AZURE_ACCOUNT" \
      AZURE_STORAGE_KEY "$AZURE_KEY" \
      AZURE_OAUTH_BLOB_ENDPOINT "https://127.0.0.1:$AZURITE_OAUTH_PORT/$AZURE_ACCOUNT" \
      SKYFERRY_TEST_CA "$STATE/tls/cert.pem" \
      OIDC_ISSUER "http://127.0.0.1:$OIDC_PORT" \
      OIDC_CLIENT_ID "$OIDC_CLIENT_ID" \
      S3_STS_ENDPOINT "http://127.0.0.1:$RGW_PORT" \
      S3_STS_ROLE_ARN "$S3_STS_ROLE_ARN" \
      SKYFERRY_STACK_READY "$2"
  } >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$1"
}

UP_DONE=0
on_up_exit() {
  local rc=$?
  if ((UP_DONE == 0)); then
    log "up failed (exit $rc); stopping what was started. Logs kept in $LOGS"
    stop_all || true
    rm -f "$ENV_FILE"
  fi
}

cmd_up() {
  lock
  local t_all; t_all="$(now)"
  if stack_healthy; then
    log "stack in $STATE is already up and healthy: reusing it"
    sts_upgrade || die "the STS set-up of the running stack failed (see above)"
    print_table reused
    return 0
  fi
  if compgen -G "$PIDS/*.pid" >/dev/null || [[ -f $ENV_FILE ]]; then
    log "stale or partial stack in $STATE: stopping it and starting from scratch"
    stop_all
  fi
  clean_runtime

  SKYFERRY_MONGO_MODE="$MONGO_MODE" SKYFERRY_FERRETDB_BACKEND="$FERRETDB_BACKEND" bash "$HERE/install.sh"
  PG_BIN="$(pg_bin_dir)"

  # refuse to start over somebody else's server
  local p busy=()
  local ports=("nats:$NATS_PORT" "nats-monitor:$NATS_MONITOR_PORT" "ceph-mon:$CEPH_MON_PORT" "radosgw:$RGW_PORT"
    "azurite:$AZURITE_PORT" "azurite-oauth:$AZURITE_OAUTH_PORT" "oidc:$OIDC_PORT")
  [[ $MONGO_MODE != external ]] && ports+=("mongo:$MONGO_PORT")
  [[ " ${SERVERS[*]} " == *" postgres "* ]] && ports+=("postgres:$POSTGRES_PORT")
  [[ $MONGO_MODE == ferretdb && $FERRETDB_DEBUG_ADDR != - ]] && ports+=("ferretdb-debug:${FERRETDB_DEBUG_ADDR##*:}")
  for p in "${ports[@]}"; do port_busy "${p#*:}" && busy+=("$p"); done
  ((${#busy[@]} == 0)) || die "port(s) already in use by another process: ${busy[*]} (stop it, or override e.g. SKYFERRY_NATS_PORT)"

  trap on_up_exit EXIT
  trap 'exit 130' INT TERM # so that the EXIT trap cleans up on Ctrl-C / kill too
  mkdir -p "$LOGS" "$PIDS" "$RUN" "$STATE/tls" "$STATE/nats" "$STATE/azurite" "$STATE/azurite-oauth"
  echo "$CONFIG" >"$STATE/config"
  for s in "${SERVERS[@]}"; do : >"$LOGS/$s.log"; done

  # ---- secrets, generated fresh for every stack
  S3_ACCESS_KEY_ID="$(openssl rand -hex 10 | tr a-f A-F)"
  S3_SECRET_ACCESS_KEY="$(rand_alnum 40)"
  S3_STS_ROLE_ARN="" # known once radosgw and the OIDC server are up (sts_setup)
  AZURE_KEY="$(openssl rand -base64 64 | tr -d '\n')"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$STATE/tls/key.pem" -out "$STATE/tls/cert.pem" >/dev/null 2>&1 || die "openssl could not create the test certificate"
  chmod 600 "$STATE/tls/key.pem"
  # NATS: CA, server certificate, one NKey per identity, the actor key pair, nats.conf (permissions)
  bash "$HERE/trust.sh" stack "$STATE/trust" "$NATS_PORT" "$NATS_MONITOR_PORT" "$STATE/nats" >>"$LOGS/nats.log" 2>&1 ||
    die "could not make the NATS trust material (scripts/stack/trust.sh; see $LOGS/nats.log)"

  # ---- Ceph is the slow one (~13 s): start it in the background, the others meanwhile
  (trap - EXIT; start_ceph) &
  local ceph_job=$!

  local nats_debug=()
  [[ $NATS_DEBUG == 1 ]] && nats_debug=(-DV)
  launch nats "$STATE/trust/nats.conf" nats-server -c "$STATE/trust/nats.conf" "${nats_debug[@]}"
  case "$MONGO_MODE" in
    ferretdb)
      mkdir -p "$STATE/ferretdb/data"
      local storage=(--handler=sqlite --sqlite-url="file:$STATE/ferretdb/data/")
      if [[ $FERRETDB_BACKEND == postgresql ]]; then
        start_postgres || die "stack did not come up (see errors above)"
        # shellcheck disable=SC2046
        launch mongo "$STATE/ferretdb" ferretdb $(ferretdb_pg_args "$POSTGRES_PORT" "$MONGO_PORT" "$STATE/ferretdb") --debug-addr="$FERRETDB_DEBUG_ADDR"
      else
        launch mongo "$STATE/ferretdb" ferretdb "${storage[@]}" \
          --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$STATE/ferretdb" --debug-addr="$FERRETDB_DEBUG_ADDR" \
          --telemetry=disable --log-level="$FERRETDB_LOG_LEVEL"
      fi ;;
    mongod)
      mkdir -p "$STATE/mongo"
      launch mongo "$STATE/mongo" mongod --bind_ip 127.0.0.1 --port "$MONGO_PORT" --dbpath "$STATE/mongo" --quiet ;;
    external) now >"$RUN/mongo.started" ;;
  esac
  AZURITE_ACCOUNTS="$AZURE_ACCOUNT:$AZURE_KEY" launch azurite "$STATE/azurite" \
    "$REPO/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$STATE/azurite" \
    --disableTelemetry --skipApiVersionCheck --loose
  AZURITE_ACCOUNTS="$AZURE_ACCOUNT:$AZURE_KEY" launch azurite-oauth "$STATE/azurite-oauth" \
    "$REPO/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZURITE_OAUTH_PORT" \
    --location "$STATE/azurite-oauth" --disableTelemetry --skipApiVersionCheck --loose \
    --oauth basic --cert "$STATE/tls/cert.pem" --key "$STATE/tls/key.pem"
  # oauth2-mock-server via a 20-line wrapper: its CLI would advertise issuer http://localhost:<port>
  launch oidc "oidc-server.mjs -a 127.0.0.1 -p $OIDC_PORT" node "$HERE/oidc-server.mjs" -a 127.0.0.1 -p "$OIDC_PORT"

  # probes read the credentials from a pending env file; $STATE/env is published only when all are ready
  write_env "$RUN/env.pending" 0
  ENV_READ="$RUN/env.pending"
  local failed=0
  wait_ready nats "$READY_TIMEOUT" probe nats || failed=1
  wait_ready mongo "$READY_TIMEOUT" probe mongo || failed=1
  wait_ready azurite "$READY_TIMEOUT" probe azurite || failed=1
  wait_ready azurite-oauth "$READY_TIMEOUT" probe azurite-oauth || failed=1
  wait_ready oidc "$READY_TIMEOUT" probe oidc || failed=1
  wait "$ceph_job" || failed=1
  ((failed == 0)) || die "stack did not come up (see errors above)"
  S3_STS_ROLE_ARN="$(sts_setup "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY")" || die "stack did not come up (see errors above)"
  write_env "$ENV_FILE" 1
  ENV_READ="$ENV_FILE"
  UP_DONE=1
  trap - EXIT
  log "stack up in $(since "$t_all")s"
  print_table timings
}

cmd_down() {
  lock
  stop_all
  clean_runtime
  log "stack in $STATE is down (logs kept in $LOGS)"
}

cmd_status() {
  local s bad=0 state
  if [[ ! -f $ENV_FILE ]]; then
    log "no stack env file in $STATE (not up, or still starting)"
    bad=1
  fi
  printf '%-14s %-8s %-6s %s\n' SERVER PID STATE ENDPOINT
  for s in "${SERVERS[@]}"; do
    if server_up "$s"; then state=up; else state=DOWN; bad=1; fi
    printf '%-14s %-8s %-6s %s\n' "$s" "$([[ $s == mongo && $MONGO_MODE == external ]] && echo - || pid_of "$s" 2>/dev/null || echo -)" \
      "$state" "$(endpoint_of "$s")"
  done
  return "$bad"
}

cmd_gc() { # frees deleted objects' data now, instead of at radosgw's next GC pass (every 30 s)
  [[ -f $STATE/ceph/ceph.conf ]] || die "no ceph config: run 'scripts/stack.sh up' first"
  timeout 300 radosgw-admin -c "$STATE/ceph/ceph.conf" gc process --include-all 2>>"$LOGS/radosgw.log"
}

cmd_nats_reload() { # after a change to the permission table: no restart, connections stay
  [[ -f $STATE/trust/nats.conf ]] && alive nats || die "no running stack NATS in $STATE: run 'scripts/stack.sh up'"
  # A seed for an identity the table gained since `up` (existing keys and certificates are kept).
  bash "$HERE/trust.sh" keys "$STATE/trust"
  bash "$HERE/trust.sh" render "$STATE/trust/seeds" "$STATE/trust/nats.conf" --namespace '*' \
    --listen "127.0.0.1:$NATS_PORT" --http "127.0.0.1:$NATS_MONITOR_PORT" --store-dir "$STATE/nats" \
    --tls-cert "$STATE/trust/nats-server.pem" --tls-key "$STATE/trust/nats-server-key.pem"
  kill -HUP "$(pid_of nats)"
  log "nats-server $(pid_of nats) reloads $STATE/trust/nats.conf"
}

# The flags FerretDB runs with over PostgreSQL (the stack's own and `ferretdb <port>`'s).
ferretdb_pg_args() { # <postgres-port> <listen-port> <state-dir>
  echo --handler=postgresql "--postgresql-url=postgres://postgres@127.0.0.1:$1/ferretdb" \
    "--listen-addr=127.0.0.1:$2" "--state-dir=$3" --telemetry=disable "--log-level=$FERRETDB_LOG_LEVEL"
}

cmd_ferretdb() { # <port>: exec'd, so the caller's child is FerretDB itself (SIGKILL reaches it)
  local port="${1:-}" mongo
  [[ $port =~ ^[0-9]+$ ]] || die "usage: stack.sh ferretdb <port>"
  [[ -f $ENV_FILE && -f $STATE/config ]] || die "no running stack in $STATE: run 'scripts/stack.sh up' first"
  # What the running stack was started with (not this shell's environment): mongo=ferretdb:<port>/postgresql/<pg port>
  mongo="$(sed -n 's/.* mongo=\([^ ]*\).*/\1/p' "$STATE/config")"
  [[ $mongo =~ ^ferretdb:[0-9]+/postgresql/([0-9]+)$ ]] || die "the stack's MongoDB is not FerretDB on PostgreSQL ($mongo)"
  mkdir -p "$STATE/ferretdb-extra/$port"
  # shellcheck disable=SC2046
  exec ferretdb $(ferretdb_pg_args "${BASH_REMATCH[1]}" "$port" "$STATE/ferretdb-extra/$port") --debug-addr=-
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "no env file: run 'scripts/stack.sh up' first ($ENV_FILE)"
  cat "$ENV_FILE"
}

case "${1:-}" in
  install) SKYFERRY_MONGO_MODE="$MONGO_MODE" SKYFERRY_FERRETDB_BACKEND="$FERRETDB_BACKEND" exec bash "$HERE/install.sh" ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  gc) cmd_gc ;;
  nats-reload) cmd_nats_reload ;;
  ferretdb) cmd_ferretdb "${2:-}" ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
