#!/usr/bin/env bash
# The README's test command: lint, typecheck, then every workspace's unit, integration and
# end-to-end tests against the real local stack, which it brings up (and down, if it started it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started_stack=0
stack_dir=${SKYFERRY_STACK_DIR:-$repo/.stack}

cleanup() {
  if [ "$started_stack" = 1 ] && [ "${SKYFERRY_KEEP_STACK:-0}" != 1 ]; then
    bash scripts/stack.sh down || true
  fi
}
trap cleanup EXIT

# shellcheck source=use-node.sh
source scripts/use-node.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

t0=$(date +%s)
if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  started_stack=1
fi
bash scripts/stack.sh up
t1=$(date +%s)
# shellcheck disable=SC1091
source "$stack_dir/env"

echo "== lint"
# Typed linting holds every workspace's program at once: ~4 GB, at Node's default heap limit here (it ran
# out once at b0f7605); 8 GB of the machine's 24 leave it room.
NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=8192" npx eslint --max-warnings 0 .
echo "== typecheck"
npx turbo run typecheck --output-logs=errors-only
t2=$(date +%s)

echo "== build console"
# The browser tests (test/browser) drive the console the gateway serves from packages/console/dist.
npx turbo run build --filter=@skyferry/console --output-logs=errors-only
rm -rf .test-results
echo "== tests"
status=0
npx turbo run test --env-mode=loose --concurrency=1 --continue --output-logs=full || status=$?
t3=$(date +%s)

echo "== summary"
node scripts/test-summary.mjs || status=1
echo "timing: stack $((t1 - t0))s, lint+typecheck $((t2 - t1))s, tests $((t3 - t2))s, total $((t3 - t0))s"
exit $status
