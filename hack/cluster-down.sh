#!/usr/bin/env bash
# Stops the local cluster of hack/cluster-up.sh: exactly the processes it
# started (by their pid files) and the pods' containers (through its own
# containerd), then removes the mounts under its state folder, the pod
# bridge, the iptables rules of kube-proxy and the CNI plugins, and the state.
# Usage: hack/cluster-down.sh [--keep-state]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
BIN=${K8S_BIN_DIR:-$root/bin/k8s/v$K8S_VERSION}
D=${CLUSTER_DIR:-$root/bin/cluster}
log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
if [ "${CLUSTER:-local}" = kind ]; then
  kind delete cluster --name switchboard && rm -rf "$D"
  exit 0
fi
[ -d "$D" ] || { log "no cluster state in $D: nothing to stop"; exit 0; }

stop() { # name
  local f=$D/pid/$1
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -9 "$pid" 2>/dev/null; then log "killed $1 ($pid)"; else log "stopped $1 ($pid)"; fi
  fi
  rm -f "$f"
}

stop kwok
stop kube-proxy
stop kubelet
sock=$D/run/containerd.sock
if [ -S "$sock" ]; then
  # The pods' containers outlive kubelet: kill them through our containerd.
  for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1
  done
  sleep 1
  for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr --address "$sock" -n k8s.io tasks rm -f "$t" >/dev/null 2>&1
  done
fi
stop containerd
# Shims started by our containerd name its socket on their command line.
pkill -9 -f "containerd-shim.*-address $sock" 2>/dev/null && log "killed leftover containerd shims"
for c in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$c"; done

# Mounts under the state folder (pod volumes, container rootfs, network
# namespaces), deepest first.
grep -o " $D[^ ]*" /proc/self/mounts | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done

if [ -x "$BIN/kube-proxy" ]; then
  "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
fi
# What kubelet and kube-proxy leave (KUBE-… chains and the jumps to them),
# the bridge plugin's masquerade chains (CNI-…) and our INPUT guard.
for ipt in iptables ip6tables; do
  for table in filter nat mangle; do
    $ipt -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-' |
      sed 's/^-A/-D/' | while read -r rule; do eval "$ipt -t $table $rule" 2>/dev/null; done
    $ipt -t "$table" -S 2>/dev/null | grep -o '^-N KUBE-[^ ]*' | cut -d' ' -f2 | while read -r chain; do
      $ipt -t "$table" -F "$chain" 2>/dev/null
    done
    $ipt -t "$table" -S 2>/dev/null | grep -o '^-N KUBE-[^ ]*' | cut -d' ' -f2 | while read -r chain; do
      $ipt -t "$table" -X "$chain" 2>/dev/null
    done
  done
done
iptables -t nat -S POSTROUTING 2>/dev/null | grep -- '-j CNI-' | sed 's/^-A/-D/' | while read -r rule; do
  eval "iptables -t nat $rule" 2>/dev/null
done
iptables -t nat -S 2>/dev/null | grep -o '^-N CNI-[^ ]*' | cut -d' ' -f2 | while read -r chain; do
  iptables -t nat -F "$chain" 2>/dev/null; iptables -t nat -X "$chain" 2>/dev/null
done
iptables -D INPUT -d 10.244.0.1 -j SWITCHBOARD-API 2>/dev/null
iptables -F SWITCHBOARD-API 2>/dev/null; iptables -X SWITCHBOARD-API 2>/dev/null
ip link delete cni0 2>/dev/null && log "deleted the cni0 bridge"

if [ "${1:-}" != --keep-state ]; then
  rm -rf "$D"
  log "removed $D"
fi
log "down"
