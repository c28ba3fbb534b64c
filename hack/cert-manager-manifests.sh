#!/usr/bin/env bash
# Renders cert-manager's install manifest for the local cluster, offline:
# Namespace, CRDs, RBAC, Deployments, Services and webhook configurations for
# namespace cert-manager, from the Helm chart that the cert-manager Go module
# ships (deploy/charts/cert-manager), with a small Helm Go SDK program
# (hack/cert-manager/render, built once into bin/). Images are the locally
# built switchboard.local/cert-manager-{controller,webhook,cainjector}:v<version>
# with imagePullPolicy Never; the renderer refuses a manifest that lacks them.
#
# Usage: hack/cert-manager-manifests.sh
# Output: $CERT_MANAGER_BIN_DIR/cert-manager.yaml (default bin/cert-manager/v$CERT_MANAGER_VERSION)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
OUT=${CERT_MANAGER_BIN_DIR:-$root/bin/cert-manager/v$CERT_MANAGER_VERSION}
src=$root/hack/cert-manager/render
mkdir -p "$OUT" "$root/bin/cert-manager"

log() { printf '[cert-manager-manifests %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=progress.sh
. "$root/hack/progress.sh"

# The renderer is rebuilt when its source or the Helm SDK version changes.
render=$root/bin/cert-manager/render-$(cat "$src/go.mod" "$src/main.go" <(echo "$HELM_VERSION") | sha256sum | cut -c1-12)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
if [ ! -x "$render" ]; then
  log "building the chart renderer (Helm SDK $HELM_VERSION)"
  cp "$src/go.mod" "$src/main.go" "$W/"
  (
    cd "$W"
    go mod edit -require="helm.sh/helm/v3@$HELM_VERSION"
    go mod tidy
    with_progress "the chart renderer" go build -o "$render" .
  )
fi

chart=$(cd "$W" && go mod download -json "github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$chart/deploy/charts/cert-manager" ] || { echo "cert-manager-manifests: no chart in the cert-manager module at '$chart'" >&2; exit 1; }
"$render" -chart "$chart/deploy/charts/cert-manager" -version "$CERT_MANAGER_VERSION" -kube-version "$K8S_VERSION" \
  -namespace cert-manager -image-prefix switchboard.local/cert-manager- -pull-policy Never > "$OUT/cert-manager.yaml.tmp"
mv "$OUT/cert-manager.yaml.tmp" "$OUT/cert-manager.yaml"
log "wrote $OUT/cert-manager.yaml"
echo "$OUT/cert-manager.yaml"
