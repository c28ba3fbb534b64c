#!/usr/bin/env bash
# The quickstart (README command 1): builds what is missing, starts the local
# cluster, installs cert-manager, the CRDs and the operator (Helm chart),
# applies the seed's osv example as written (test/e2e/testdata/seed/osv.yaml,
# in its namespace my-namespace, with a locally built server image), waits
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

log "1/4 local cluster"
hack/cluster-up.sh
log "2/4 images, cert-manager, CRDs and operator"
hack/deploy-local.sh
log "3/4 the osv example"
NS=my-namespace
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -f test/e2e/testdata/seed/osv.yaml
kubectl -n "$NS" wait mcpserver/osv --for=condition=Ready --timeout=180s
kubectl -n "$NS" get mcpservers
log "4/4 port-forward service/mcp-osv-proxy $PORT:8080 and list the tools"
go build -o bin/switchboard ./cmd/switchboard
# kubectl itself in the background (not the shell function, whose subshell
# $! would name): the trap then stops the forward, and the quickstart
# leaves nothing of its own running but the cluster.
"$BIN/kubectl" -n "$NS" port-forward service/mcp-osv-proxy "$PORT:8080" >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null; wait $pf 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -fs "http://localhost:$PORT/health" >/dev/null 2>&1 && break; sleep 0.2; done
curl -s "http://localhost:$PORT/health"; echo
bin/switchboard mcp list tools --server "http://localhost:$PORT/mcp"
log "done in $((SECONDS - start)) s. Try:  KUBECONFIG=$KUBECONFIG $BIN/kubectl -n $NS describe mcpserver osv"
log "reach the server again:  KUBECONFIG=$KUBECONFIG $BIN/kubectl -n $NS port-forward service/mcp-osv-proxy $PORT:8080 &  bin/switchboard mcp list tools --server http://localhost:$PORT/mcp"
log "clean up with:  make cluster-down"
