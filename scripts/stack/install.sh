#!/usr/bin/env bash
# Installs the servers of the local test stack, skipping whatever is already present.
# Called by `scripts/stack.sh install` (and by `up`). Safe to run concurrently (flock).
#   apt (Debian):   nats-server ceph-mon ceph-osd radosgw ceph-common openssl chromium prometheus (+ curl if missing)
#                   (chromium + a font: the console's browser tests, test/browser; prometheus: the
#                   scrape check of `npm run bench:scale`, which starts one of its own)
#   apt (Debian):   postgresql (FerretDB's storage; not with SKYFERRY_FERRETDB_BACKEND=sqlite)
#   Go module:      FerretDB v1.24.2 -> $SKYFERRY_TOOLS_DIR (default ~/.cache/skyferry/bin),
#                   unless `mongod` is on PATH or MONGO_URL points at an external MongoDB.
#   npm:            azurite + oauth2-mock-server are devDependencies of the repo root (npm install).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${SKYFERRY_TOOLS_DIR:-$HOME/.cache/skyferry/bin}"
FERRETDB_VERSION="v1.24.2"
FERRETDB_MODULE="github.com/FerretDB/FerretDB"

log() { printf '[stack install] %s\n' "$*" >&2; }
die() { printf '[stack install] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$TOOLS"
exec 8>"$TOOLS/.install.lock"
flock -w 1800 8 || die "timed out waiting for $TOOLS/.install.lock"

# ---------------------------------------------------------------- apt packages
APT_PKGS=(nats-server ceph-mon ceph-osd radosgw ceph-common openssl chromium fonts-dejavu-core tmux zsh prometheus)
# commands we rely on, from those packages (ceph-base comes in as a dependency of ceph-mon/osd;
# tmux and zsh: the CLI's terminal test and its zsh completion check; prometheus: bench:scale)
NEED_CMDS=(nats-server ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool openssl chromium tmux zsh prometheus)
missing=()
for c in "${NEED_CMDS[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
command -v curl >/dev/null 2>&1 || { missing+=(curl); APT_PKGS+=(curl); }
command -v flock >/dev/null 2>&1 || { missing+=(flock); APT_PKGS+=(util-linux); }
if ((${#missing[@]})); then
  log "missing: ${missing[*]} -> apt-get install ${APT_PKGS[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install ${APT_PKGS[*]}"
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${APT_PKGS[@]}" >/dev/null
  for c in "${NEED_CMDS[@]}"; do command -v "$c" >/dev/null 2>&1 || die "$c still missing after apt-get install"; done
else
  log "apt servers present (nats-server $(nats-server --version 2>/dev/null | awk '{print $NF}'), $(ceph --version 2>/dev/null | awk '{print "ceph " $3}'))"
fi

# ---------------------------------------------------------------- PostgreSQL (FerretDB's storage)
# Only the server binaries: scripts/stack.sh makes and starts a cluster of its own. Debian's package
# would also create and start a system-wide cluster on port 5432 unless told not to.
if [[ ${SKYFERRY_MONGO_MODE:-ferretdb} == ferretdb && ${SKYFERRY_FERRETDB_BACKEND:-postgresql} == postgresql ]]; then
  if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    log "postgresql present ($(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -1))"
  else
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install postgresql"
      SUDO=(sudo)
    fi
    if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
      "${SUDO[@]}" mkdir -p /etc/postgresql-common
      echo "create_main_cluster = false" | "${SUDO[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    log "postgresql missing -> apt-get install postgresql"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || die "postgres still missing after apt-get install postgresql"
  fi
fi

# ---------------------------------------------------------------- MongoDB wire protocol
ferretdb_ok() { # <binary>: true if it runs and is the pinned version
  # FerretDB writes its state.json into --state-dir (default: the working directory) even for
  # --version: point it at a throwaway folder so nothing lands in the checkout.
  local scratch rc
  [[ -x $1 ]] || return 1
  scratch=$(mktemp -d)
  "$1" --version --state-dir="$scratch" 2>/dev/null | grep -x "version: $FERRETDB_VERSION" >/dev/null && rc=0 || rc=1
  rm -rf "$scratch"
  return $rc
}

# Which MongoDB the stack uses (scripts/stack.sh passes its decision in SKYFERRY_MONGO_MODE):
# external when MONGO_URL is set (but not when it merely came from a sourced stack env file),
# else mongod when it is on PATH, else FerretDB.
MODE="${SKYFERRY_MONGO_MODE:-}"
if [[ -z $MODE ]]; then
  if [[ -n ${MONGO_URL:-} && ${SKYFERRY_STACK_READY:-} != 1 ]]; then MODE=external
  elif command -v mongod >/dev/null 2>&1; then MODE=mongod
  else MODE=ferretdb; fi
fi
case "$MODE" in
  external) log "MONGO_URL is set: using that MongoDB, FerretDB not needed" ;;
  mongod) log "mongod found on PATH ($(command -v mongod)): FerretDB not needed" ;;
esac

if [[ $MODE == ferretdb ]] && ferretdb_ok "$TOOLS/ferretdb"; then
  log "ferretdb $FERRETDB_VERSION present in $TOOLS"
elif [[ $MODE == ferretdb ]]; then
  # Shortcut for machines where someone already built a WORKING one (checked with --version).
  for pre in ${SKYFERRY_FERRETDB_PREBUILT:-} /tmp/gobin/ferretdb; do
    if ferretdb_ok "$pre"; then
      log "copying prebuilt $pre -> $TOOLS/ferretdb"
      install -m 0755 "$pre" "$TOOLS/.ferretdb.tmp.$$" && mv -f "$TOOLS/.ferretdb.tmp.$$" "$TOOLS/ferretdb"
      break
    fi
  done
fi

if [[ $MODE == ferretdb ]] && ! ferretdb_ok "$TOOLS/ferretdb"; then
  GO="$(command -v go || true)"
  [[ -z $GO && -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go
  [[ -n $GO ]] || die "FerretDB must be built from source and needs Go >= 1.24 (https://go.dev/dl/); none found. \
Alternatively put mongod on PATH, or set MONGO_URL to an existing MongoDB."
  # NOTE: plain `GOBIN=$TOOLS go install $FERRETDB_MODULE/cmd/ferretdb@$FERRETDB_VERSION` builds a binary that
  # panics at start-up ("Invalid build/version/version.txt file content"): the module zip lacks the generated
  # build/version/version.txt that FerretDB requires when it is the main module. So we fetch the very same
  # module through the Go module proxy (checksum-verified via sum.golang.org), add version.txt, and
  # `go install` it from that copy.
  log "building FerretDB $FERRETDB_VERSION with $("$GO" version | awk '{print $3}') (first time: ~1-3 min)"
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  export GOTOOLCHAIN="${SKYFERRY_GOTOOLCHAIN:-auto}" # lets an older Go fetch the >= 1.24 toolchain go.mod asks for
  dir="$(cd "$work" && GOFLAGS=-mod=mod "$GO" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" \
         | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n $dir && -d $dir ]] || die "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
  cp -R "$dir" "$work/src"
  chmod -R u+w "$work/src"
  echo "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
  echo "go-install" >"$work/src/build/version/package.txt"
  (cd "$work/src" && GOBIN="$work/bin" "$GO" install -trimpath -buildvcs=false ./cmd/ferretdb)
  ferretdb_ok "$work/bin/ferretdb" || die "built ferretdb does not report $FERRETDB_VERSION"
  install -m 0755 "$work/bin/ferretdb" "$TOOLS/.ferretdb.tmp.$$" && mv -f "$TOOLS/.ferretdb.tmp.$$" "$TOOLS/ferretdb"
  log "installed $TOOLS/ferretdb"
fi

# ---------------------------------------------------------------- npm devDependencies
for b in azurite-blob oauth2-mock-server; do
  [[ -x $REPO/node_modules/.bin/$b ]] || die "$REPO/node_modules/.bin/$b missing: run 'npm install' in $REPO first"
done
command -v node >/dev/null 2>&1 || die "node is not on PATH"
log "done"
