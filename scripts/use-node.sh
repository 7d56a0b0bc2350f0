# Sourced by the README's two commands (scripts/start.sh, scripts/test.sh) and by .ci/run: makes sure
# the `node` on PATH is the Node.js skyferry supports (24 LTS; package.json "engines"). A machine
# whose Node is older gets Node 24 from the npm registry's `node` package (it ships the binary),
# installed once into ~/.cache/skyferry/node-24 and put first on PATH; npm, npx and every script
# started from here then run on it.
SKYFERRY_NODE_MAJOR=24
skyferry_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(skyferry_node_major)" -lt "$SKYFERRY_NODE_MAJOR" ]; then
  skyferry_node_dir="${SKYFERRY_NODE_DIR:-$HOME/.cache/skyferry/node-$SKYFERRY_NODE_MAJOR}"
  if [ ! -x "$skyferry_node_dir/node_modules/node/bin/node" ]; then
    printf '[node] Node %s is older than %s: installing node@%s from the npm registry into %s\n' \
      "$(node --version 2>/dev/null || echo none)" "$SKYFERRY_NODE_MAJOR" "$SKYFERRY_NODE_MAJOR" "$skyferry_node_dir" >&2
    mkdir -p "$skyferry_node_dir"
    npm install --prefix "$skyferry_node_dir" --no-save --no-audit --no-fund --loglevel=error "node@$SKYFERRY_NODE_MAJOR" >&2
  fi
  export PATH="$skyferry_node_dir/node_modules/node/bin:$PATH"
  hash -r
  if [ "$(skyferry_node_major)" -lt "$SKYFERRY_NODE_MAJOR" ]; then
    printf '[node] could not put Node %s on PATH (have %s)\n' "$SKYFERRY_NODE_MAJOR" "$(node --version 2>/dev/null)" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
unset -f skyferry_node_major
