#!/usr/bin/env bash
# The quickstart (README command 1): builds what is missing, starts the local
# cluster, installs cert-manager, the CRDs and the operator (config/default),
# applies the seed's osv example with a locally built server image, waits
# for Ready, port-forwards the proxy Service and lists the server's tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
BIN=bin/k8s/v$K8S_VERSION
PORT=${QUICKSTART_PORT:-8080}
export KUBECONFIG=$root/bin/cluster/kubeconfig
log() { printf '[quickstart %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
kubectl() { "$BIN/kubectl" "$@"; }
start=$SECONDS

log "1/6 local cluster"
hack/cluster-up.sh
log "2/6 images (operator, proxy, test MCP server)"
hack/images.sh
log "3/6 cert-manager"
hack/install-cert-manager.sh
log "4/6 CRDs and operator (kubectl apply -k config/default)"
kubectl apply --server-side --force-conflicts -k config/default >/dev/null
kubectl -n toolhive-system rollout status deployment/toolhive-operator-controller-manager --timeout=180s
log "5/6 the osv example"
# The webhook answers once cert-manager has injected its CA: retry briefly.
for i in $(seq 1 30); do
  kubectl apply -f hack/quickstart-osv.yaml && break
  [ "$i" = 30 ] && { log "the operator's webhook never admitted the example"; exit 1; }
  sleep 2
done
kubectl wait mcpserver/osv --for=condition=Ready --timeout=180s
kubectl get mcpservers
log "6/6 port-forward service/mcp-osv-proxy $PORT:8080 and list the tools"
go build -o bin/switchboard ./cmd/switchboard
kubectl port-forward service/mcp-osv-proxy "$PORT:8080" >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -fs "http://localhost:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
curl -s "http://localhost:$PORT/health"; echo
bin/switchboard mcp list tools --server "http://localhost:$PORT/mcp"
log "done in $((SECONDS - start)) s. Try:  KUBECONFIG=$KUBECONFIG $BIN/kubectl describe mcpserver osv"
log "clean up with:  make cluster-down"
