#!/usr/bin/env bash
# Makes the local stack's trust material (docs/trust.md) in <dir> (default .stack/trust), fresh:
#   ca.pem, ca-key.pem                   a CA of this stack only
#   nats-server.pem, nats-server-key.pem the NATS server's certificate (127.0.0.1, localhost, nats)
#   seeds/<identity>.nk, seeds/<identity>.pub   one NKey per identity (gateway, authz, history,
#                                        transfer, monitor, publisher-example, operator), mode 0600
#   actor.pem, actor.pub.pem             the gateway's Ed25519 key pair for actor assertions
#   nats.conf                            nats-server's config (scripts/nats-config.mjs): TLS, each
#                                        identity's permissions, JetStream, monitor on loopback
# Usage: trust.sh <dir> <nats-port> <monitor-port> <jetstream-store-dir> [namespace, default '*']
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$1" NATS_PORT="$2" MONITOR_PORT="$3" STORE="$4" NAMESPACE="${5:-*}"
IDENTITIES=(gateway authz history transfer monitor publisher-example operator)

umask 077
rm -rf "$DIR"
mkdir -p "$DIR/seeds"
cd "$DIR"

# ---- CA and the server certificate (openssl); SANs cover the local stack and Compose's host name
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj "/CN=skyferry local stack CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca-key.pem -out ca.pem >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=nats" \
  -keyout nats-server-key.pem -out nats-server.csr >/dev/null 2>&1
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
  "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:nats" >server.ext
openssl x509 -req -in nats-server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -extfile server.ext \
  -out nats-server.pem >/dev/null 2>&1
rm -f nats-server.csr server.ext ca.srl
chmod 644 ca.pem nats-server.pem

# ---- the actor key pair (Ed25519): the gateway signs with actor.pem, every service verifies with actor.pub.pem
openssl genpkey -algorithm ed25519 -out actor.pem >/dev/null 2>&1
openssl pkey -in actor.pem -pubout -out actor.pub.pem >/dev/null 2>&1
chmod 644 actor.pub.pem

# ---- one NKey (user) seed per identity, with nats.js's nkeys (a dependency of `nats`)
(cd "$REPO" && node --input-type=module -e '
import { writeFileSync } from "node:fs";
import { nkeys } from "nats";
const [dir, ...ids] = process.argv.slice(1);
for (const id of ids) {
  const kp = nkeys.createUser();
  writeFileSync(`${dir}/${id}.nk`, `${new TextDecoder().decode(kp.getSeed())}\n`, { mode: 0o600 });
  writeFileSync(`${dir}/${id}.pub`, `${kp.getPublicKey()}\n`, { mode: 0o644 });
}' "$DIR/seeds" "${IDENTITIES[@]}")

# ---- the server's config, from the permission table
(cd "$REPO" && node --import tsx scripts/nats-config.mjs --seeds "$DIR/seeds" --namespace "$NAMESPACE" \
  --listen "127.0.0.1:$NATS_PORT" --http "127.0.0.1:$MONITOR_PORT" --store-dir "$STORE" \
  --tls-cert "$DIR/nats-server.pem" --tls-key "$DIR/nats-server-key.pem" --out "$DIR/nats.conf")
