#!/usr/bin/env bash
# Installs what validating deploy/k8s offline needs, once, into ~/.cache/skyferry (idempotent; every
# step is skipped when its result is already there), then prints the paths as KEY=value lines:
#   - kustomize and kubeconform, built with Go from the Go module proxy into ~/.cache/skyferry/bin;
#   - the Kubernetes JSON schemas shipped by PyPI's kubernetes-validate, in a venv;
#   - a JSON schema for KEDA's ScaledObject, derived from KEDA's own CRD (module github.com/kedacore/keda/v2,
#     config/crd/bases/keda.sh_scaledobjects.yaml) by kubeconform's own openapi2jsonschema.py;
#   - a kubeconform schema cache holding kubernetes-validate's _definitions.json under the URL its
#     schemas' $refs resolve to (their $id is https://kubernetes.io/api/...), so nothing is fetched.
# Used by test/shipped/kubernetes.test.ts. Needs go and python3 on PATH.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.2      # v5.8.3 needs Go 1.27
KUBECONFORM_VERSION=v0.8.0
KEDA_VERSION=v2.21.0          # v2.21.1 needs Go 1.27.4
KUBERNETES_VALIDATE_VERSION=1.37.0
K8S_SCHEMA_VERSION=v1.37.0    # the newest schema set kubernetes-validate ships

CACHE="${SKYFERRY_CACHE_DIR:-$HOME/.cache/skyferry}"
BIN="$CACHE/bin"
VENV="$CACHE/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
SCHEMAS="$CACHE/k8s-schemas"
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
log() { printf '[k8s-tools] %s\n' "$*" >&2; }
mkdir -p "$BIN" "$SCHEMAS"

# go install <module path>@<version> unless $BIN/<name> was built from that module version.
go_tool() { # <name> <package> <module> <version>
  local name=$1 pkg=$2 mod=$3 version=$4
  if [[ -x $BIN/$name ]] && go version -m "$BIN/$name" 2>/dev/null | grep -qE "^\s+mod\s+$mod\s+$version(\s|$)"; then return; fi
  log "building $name $version (go install $pkg@$version)"
  GOBIN="$BIN" go install "$pkg@$version"
}
go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform github.com/yannh/kubeconform "$KUBECONFORM_VERSION"

if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
  log "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
K8S_DIR=$("$VENV/bin/python" -c "import importlib.resources as r; print(r.files('kubernetes_validate') / 'kubernetes-json-schema' / '$K8S_SCHEMA_VERSION-local-strict')")
[[ -f $K8S_DIR/_definitions.json && -f $K8S_DIR/deployment-apps-v1.json ]] || { log "no schemas in $K8S_DIR"; exit 1; }

# kubeconform's on-disk cache file name is the sha256 of the URL (pkg/cache/ondisk.go).
KC_CACHE="$SCHEMAS/kubeconform-cache-$K8S_SCHEMA_VERSION"
DEFS_URL=$("$VENV/bin/python" -c "import json; print(json.load(open('$K8S_DIR/_definitions.json'))['\$id'])")
DEFS_KEY=$(printf '%s' "$DEFS_URL" | sha256sum | cut -d' ' -f1)
if ! cmp -s "$K8S_DIR/_definitions.json" "$KC_CACHE/$DEFS_KEY"; then
  mkdir -p "$KC_CACHE"
  cp "$K8S_DIR/_definitions.json" "$KC_CACHE/$DEFS_KEY"
fi

KEDA_DIR="$SCHEMAS/keda-$KEDA_VERSION"
if [[ ! -s $KEDA_DIR/scaledobject-keda-v1alpha1.json ]]; then
  keda_src=$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | "$VENV/bin/python" -c "import json, sys; d = json.load(sys.stdin); print(d.get('Dir') or sys.exit(d.get('Error')))")
  kc_src=$(go mod download -json "github.com/yannh/kubeconform@$KUBECONFORM_VERSION" | "$VENV/bin/python" -c "import json, sys; d = json.load(sys.stdin); print(d.get('Dir') or sys.exit(d.get('Error')))")
  log "deriving the ScaledObject schema from $keda_src/config/crd/bases/keda.sh_scaledobjects.yaml"
  rm -rf "$KEDA_DIR.tmp" && mkdir -p "$KEDA_DIR.tmp"
  (cd "$KEDA_DIR.tmp" && FILENAME_FORMAT='{kind}-{group}-{version}' DENY_ROOT_ADDITIONAL_PROPERTIES=1 \
    "$VENV/bin/python" "$kc_src/scripts/openapi2jsonschema.py" "$keda_src/config/crd/bases/keda.sh_scaledobjects.yaml" >&2)
  rm -rf "$KEDA_DIR" && mv "$KEDA_DIR.tmp" "$KEDA_DIR"
fi

echo "KUSTOMIZE=$BIN/kustomize"
echo "KUSTOMIZE_VERSION=$KUSTOMIZE_VERSION"
echo "KUBECONFORM=$BIN/kubeconform"
echo "KUBECONFORM_VERSION=$KUBECONFORM_VERSION"
echo "KUBERNETES_VALIDATE_VERSION=$KUBERNETES_VALIDATE_VERSION"
echo "K8S_SCHEMA_VERSION=$K8S_SCHEMA_VERSION"
echo "KEDA_VERSION=$KEDA_VERSION"
echo "K8S_SCHEMA_DIR=$K8S_DIR"
echo "KEDA_SCHEMA_DIR=$KEDA_DIR"
echo "KUBECONFORM_CACHE=$KC_CACHE"
