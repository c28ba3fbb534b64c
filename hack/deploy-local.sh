#!/usr/bin/env bash
# Installs Switchboard into the cluster $KUBECONFIG names, the way a user
# would, from what this checkout builds: the images (make images, loaded
# into the node), cert-manager (make cert-manager), then the CRDs and the
# operator with the Helm chart (release toolhive-operator in namespace
# toolhive-system, chart defaults: cluster mode, as the seed's `helm get
# values toolhive-operator -n toolhive-system` expects), and waits until the
# operator's webhook admits an MCPServer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
: "${KUBECONFIG:?KUBECONFIG must name the cluster}"
export KUBECONFIG
log() { printf '[deploy %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
kubectl() { "bin/k8s/v$K8S_VERSION/kubectl" "$@"; }

log "cert-manager binaries and manifest"
make --no-print-directory cert-manager >/dev/null
log "images"
hack/images.sh
log "cert-manager"
hack/install-cert-manager.sh
log "CRDs and operator (helm upgrade --install toolhive-operator deploy/charts/toolhive-operator)"
make --no-print-directory helm >/dev/null
installed=$(bin/helm status toolhive-operator -n toolhive-system >/dev/null 2>&1 && echo yes || true)
bin/helm upgrade --install toolhive-operator deploy/charts/toolhive-operator -n toolhive-system --create-namespace \
  --reset-values --wait --timeout 5m >/dev/null
# The images were reloaded under the same tag: an operator already running
# would go on with the old one.
if [ -n "$installed" ]; then
  kubectl -n toolhive-system rollout restart deployment/toolhive-operator-controller-manager >/dev/null
fi
kubectl -n toolhive-system rollout status deployment/toolhive-operator-controller-manager --timeout=300s
# The webhook answers once cert-manager has issued its certificate and
# injected the CA: a server-side dry run of an MCPServer proves it.
probe='{"apiVersion":"toolhive.stacklok.dev/v1beta1","kind":"MCPServer","metadata":{"name":"webhook-probe","namespace":"default"},"spec":{"image":"x"}}'
for i in $(seq 1 90); do
  if out=$(kubectl apply --dry-run=server -f - <<<"$probe" 2>&1); then break; fi
  [ "$i" = 90 ] && { log "the operator's webhook never admitted an MCPServer: $out"; exit 1; }
  sleep 2
done
log "operator ready"
