#!/usr/bin/env bash
# docker-compose.yml's `trust` service (the Dockerfile's `trust` target): makes NATS's trust material
# once, keeps it across restarts, and hands each container only its own part, one volume each:
#   <out>/nats/      nats.conf (TLS, one NKey user per identity with its permissions, JetStream,
#                    monitoring on the container's loopback only), nats-server.pem, nats-server-key.pem
#   <out>/<service>/ seed.nk (that service's NKey), ca.pem, actor.pub.pem; the gateway also actor.pem
#   <out>/provisioner/ seed.nk (the `provisioner` NKey: streams and consumers), ca.pem, for the
#                    one-shot `provision` service only
# The CA key and every seed stay in <state> (the `trust` volume): publisher-example.nk and monitor.nk
# are there for whoever is given them (docs/trust.md). Re-rendering nats.conf on every start picks up
# a changed permission table after an upgrade.
#
#   compose-trust.sh <state> <out> [namespace, default skyferry]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="$1" OUT="$2" NAMESPACE="${3:-skyferry}"
SERVICES=(gateway authz history transfer)
# Compose declares no `operator`: full permissions exist only in the local stack.
bash "$HERE/trust.sh" keys "$STATE" "${SERVICES[@]}" provisioner monitor publisher-example
umask 077
mkdir -p "$OUT/nats"
bash "$HERE/trust.sh" render "$STATE/seeds" "$OUT/nats/nats.conf" --namespace "$NAMESPACE" \
  --identities gateway,authz,history,transfer,provisioner,monitor,publisher-example \
  --listen 0.0.0.0:4222 --http 127.0.0.1:8222 --store-dir /data \
  --tls-cert /etc/nats/trust/nats-server.pem --tls-key /etc/nats/trust/nats-server-key.pem
cp "$STATE/nats-server.pem" "$STATE/nats-server-key.pem" "$OUT/nats/"
for s in "${SERVICES[@]}"; do
  mkdir -p "$OUT/$s"
  cp "$STATE/seeds/$s.nk" "$OUT/$s/seed.nk"
  cp "$STATE/ca.pem" "$STATE/actor.pub.pem" "$OUT/$s/"
done
mkdir -p "$OUT/provisioner"
cp "$STATE/seeds/provisioner.nk" "$OUT/provisioner/seed.nk"
cp "$STATE/ca.pem" "$OUT/provisioner/"
cp "$STATE/actor.pem" "$OUT/gateway/actor.pem"
chmod 600 "$OUT"/*/seed.nk "$OUT/gateway/actor.pem" "$OUT/nats/nats-server-key.pem" "$OUT/nats/nats.conf"
chmod 644 "$OUT"/*/ca.pem "$OUT"/*/actor.pub.pem "$OUT/nats/nats-server.pem"
echo "trust material ready in $OUT (identities of $STATE/seeds)"
