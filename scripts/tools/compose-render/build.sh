#!/usr/bin/env bash
# Builds compose-render (main.go: compose-go, the library Docker Compose uses) into
# ~/.cache/skyferry/bin unless the binary there is newer than its sources. Needs Go and the Go
# module proxy (or a filled module cache). Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${SKYFERRY_CACHE:-$HOME/.cache/skyferry}/bin/compose-render"
if [[ ! -x $bin || $here/main.go -nt $bin || $here/go.mod -nt $bin || $here/go.sum -nt $bin ]]; then
  mkdir -p "$(dirname "$bin")"
  (cd "$here" && go build -trimpath -buildvcs=false -o "$bin.tmp" . && mv "$bin.tmp" "$bin")
fi
echo "$bin"
