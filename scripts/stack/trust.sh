#!/usr/bin/env bash
# NATS trust material (docs/trust.md).
#
#   trust.sh keys <dir> [identity...]
#       Makes in <dir>, unless already there (kept: the seeds are identities):
#         ca.pem, ca-key.pem                   a CA of this installation only
#         nats-server.pem, nats-server-key.pem the NATS server's certificate (127.0.0.1, localhost,
#                                              nats, nats.nats.svc.cluster.local; clientAuth too:
#                                              a cluster's nodes present it to each other)
#         seeds/<identity>.nk, seeds/<identity>.pub   one NKey (user) per identity, the seed 0600
#         actor.pem, actor.pub.pem             the gateway's Ed25519 key pair for actor assertions
#       Identities default to all: gateway authz history transfer provisioner monitor publisher-example operator.
#       TRUST_EXTRA_SANS adds names to the server certificate (e.g. `IP:127.0.47.1`).
#
#   trust.sh stack <dir> <nats-port> <monitor-port> <jetstream-store-dir>
#       The local stack's (scripts/stack.sh up): fresh `keys` with every identity, then <dir>/nats.conf
#       for every namespace (`*`: tests use one each), on 127.0.0.1, monitoring on loopback.
#
# The TypeScript permission table is read with `node --import tsx` (TRUST_NODE overrides, e.g.
# `node` on Node 24, which strips types itself).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ALL_IDENTITIES=(gateway authz history transfer provisioner monitor publisher-example operator)
read -ra TS_NODE <<<"${TRUST_NODE:-node --import tsx}"

keys() { # <dir> [identity...]
  local dir="$1"
  shift
  local ids=("$@")
  ((${#ids[@]})) || ids=("${ALL_IDENTITIES[@]}")
  (
    umask 077
    mkdir -p "$dir/seeds"
    cd "$dir"
    if [[ ! -f ca.pem ]]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=skyferry NATS CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout ca-key.pem -out ca.pem >/dev/null 2>&1
      rm -f nats-server.pem
    fi
    if [[ ! -f nats-server.pem ]]; then
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=nats" \
        -keyout nats-server-key.pem -out nats-server.csr >/dev/null 2>&1
      printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth,clientAuth" \
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:nats,DNS:nats.nats.svc.cluster.local${TRUST_EXTRA_SANS:+,$TRUST_EXTRA_SANS}" >server.ext
      openssl x509 -req -in nats-server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -extfile server.ext \
        -out nats-server.pem >/dev/null 2>&1
      rm -f nats-server.csr server.ext ca.srl
    fi
    chmod 644 ca.pem nats-server.pem
    if [[ ! -f actor.pem ]]; then
      openssl genpkey -algorithm ed25519 -out actor.pem >/dev/null 2>&1
      openssl pkey -in actor.pem -pubout -out actor.pub.pem >/dev/null 2>&1
    fi
    chmod 644 actor.pub.pem
  )
  # One NKey (user) seed per identity, with nats.js's nkeys (a dependency of `nats`).
  (cd "$REPO" && node --input-type=module -e '
import { existsSync, writeFileSync } from "node:fs";
import { nkeys } from "nats";
const [dir, ...ids] = process.argv.slice(1);
for (const id of ids) {
  if (existsSync(`${dir}/${id}.nk`)) continue;
  const kp = nkeys.createUser();
  writeFileSync(`${dir}/${id}.nk`, `${new TextDecoder().decode(kp.getSeed())}\n`, { mode: 0o600 });
  writeFileSync(`${dir}/${id}.pub`, `${kp.getPublicKey()}\n`, { mode: 0o644 });
}' "$dir/seeds" "${ids[@]}")
}

render() { # <seeds-dir> <out> [nats-config.mjs options...]: nats-server's config from the permission table
  local seeds="$1" out="$2"
  shift 2
  (cd "$REPO" && "${TS_NODE[@]}" scripts/nats-config.mjs --seeds "$seeds" --out "$out.new" "$@")
  mv -f "$out.new" "$out"
}

case "${1:-}" in
  keys) shift; keys "$@" ;;
  render) shift; render "$@" ;;
  stack)
    DIR="$2" NATS_PORT="$3" MONITOR_PORT="$4" STORE="$5"
    rm -rf "$DIR"
    keys "$DIR"
    render "$DIR/seeds" "$DIR/nats.conf" --namespace '*' --listen "127.0.0.1:$NATS_PORT" --http "127.0.0.1:$MONITOR_PORT" \
      --store-dir "$STORE" --tls-cert "$DIR/nats-server.pem" --tls-key "$DIR/nats-server-key.pem" ;;
  *) sed -n '2,20p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
