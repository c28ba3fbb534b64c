#!/usr/bin/env bash
# Adds N fake nodes to the running local cluster with KWOK (built from the Go
# module proxy): nodes that report Ready and "run" pods without running
# anything, for tests that need many servers (scale benchmarks). They carry
# the taint kwok.x-k8s.io/node=fake:NoSchedule, so only pods that tolerate
# it land there; real pods keep the real node.
# Usage: hack/fake-nodes.sh N
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
BIN=${K8S_BIN_DIR:-$root/bin/k8s/v$K8S_VERSION}
D=${CLUSTER_DIR:-$root/bin/cluster}
N=${1:-3}
export KUBECONFIG=$D/kubeconfig
log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ ! -x "$BIN/kwok" ]; then
  log "building kwok v$KWOK_VERSION (once, ~2.5 min)"
  GOBIN=$BIN go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
fi
if ! { [ -f "$D/pid/kwok" ] && kill -0 "$(cat "$D/pid/kwok")" 2>/dev/null; }; then
  stages=$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage
  {
    cat "$stages/node/fast/node-initialize.yaml"
    for f in node/heartbeat-with-lease/node-heartbeat-with-lease.yaml pod/fast/pod-ready.yaml \
      pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      printf '\n---\n'; cat "$stages/$f"
    done
  } > "$D/etc/kwok.yaml"
  "$BIN/kwok" --kubeconfig "$D/kubeconfig" --config "$D/etc/kwok.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --node-port 10247 --server-address 127.0.0.1:10247 --cidr 10.245.0.0/16 \
    --node-lease-duration-seconds 40 > "$D/logs/kwok.log" 2>&1 &
  echo $! > "$D/pid/kwok"
  log "started kwok (pid $!)"
fi
for i in $(seq 0 $((N - 1))); do
  "$BIN/kubectl" apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {node.alpha.kubernetes.io/ttl: "0", kwok.x-k8s.io/node: fake}
  labels: {kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
spec:
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
NODE
done
"$BIN/kubectl" wait --for=condition=Ready node -l type=kwok --timeout=60s >/dev/null
log "$N fake nodes Ready (taint kwok.x-k8s.io/node=fake:NoSchedule)"
