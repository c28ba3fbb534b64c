#!/usr/bin/env bash
# Starts a real single-node Kubernetes on this machine, from components the
# project builds or installs itself (no Docker, no downloads but the Go module
# proxy and Debian's packages): etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kube-proxy (hack/build-k8s.sh), with Debian's
# containerd, runc and CNI plugins. Pods run for real in network namespaces
# on a host-only bridge.
#
# Cluster DNS: CoreDNS (hack/coredns.sh builds it) serves cluster.local as
# the Service kube-dns at 10.96.0.10, the nameserver the kubelet gives pods.
#
# Usage: hack/cluster-up.sh [--fake-nodes N]     (hack/cluster-down.sh stops it)
# Writes the admin kubeconfig to bin/cluster/kubeconfig. Idempotent: a
# running cluster is left as it is (one an older version of this script
# started gets the cluster DNS: kubelet restarted with it, CoreDNS deployed).
#
# Listening: every component on 127.0.0.1, except the API server, which
# listens on the pod bridge's gateway address (10.244.0.1, host-only) so
# that pods reach it through the kubernetes Service; an iptables rule drops
# traffic to it from anywhere but this machine and its pods.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
BIN=${K8S_BIN_DIR:-$root/bin/k8s/v$K8S_VERSION}
D=${CLUSTER_DIR:-$root/bin/cluster}
NODE=switchboard-node
POD_CIDR=10.244.0.0/24
GATEWAY=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
DNS_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
API=https://$GATEWAY:6443
FAKE_NODES=0
[ "${1:-}" = --fake-nodes ] && FAKE_NODES=${2:-3}

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
running() { [ -f "$D/pid/$1" ] && kill -0 "$(cat "$D/pid/$1")" 2>/dev/null; }
export KUBECONFIG=$D/kubeconfig
kubectl() { "$BIN/kubectl" "$@"; }
pki=$D/pki

start() { # name command...
  local name=$1; shift
  running "$name" && return
  "$@" > "$D/logs/$name.log" 2>&1 &
  echo $! > "$D/pid/$name"
  log "started $name (pid $!, log bin/cluster/logs/$name.log)"
}
wait_for() { # what seconds command...
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what not ready after ${secs}s; see bin/cluster/logs"
}

kubelet_config() {
  cat > "$D/etc/kubelet.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
containerRuntimeEndpoint: unix://$D/run/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$pki/kubelet.crt"
tlsPrivateKeyFile: "$pki/kubelet.key"
clusterDNS: [$DNS_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
KUBELET
}

start_kubelet() {
  start kubelet "$BIN/kubelet" --config "$D/etc/kubelet.yaml" --kubeconfig "$D/kubelet.kubeconfig" \
    --hostname-override "$NODE" --root-dir "$D/kubelet" --node-ip 127.0.0.1
  wait_for "node registration" 60 kubectl get node "$NODE"
  # kubelet refuses a loopback node IP and then reports no address, so the API
  # server could not reach it for logs, exec, attach and port-forward.
  kubectl patch node "$NODE" --subresource=status --type=merge \
    -p '{"status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}]}}' >/dev/null
}

# The cluster DNS: CoreDNS's image (built once, cached in bin/coredns)
# loaded into containerd, then hack/coredns.yaml; waits until it serves.
cluster_dns() {
  "$root/hack/coredns.sh"
  sed "s|switchboard.local/coredns:v[0-9.]*|switchboard.local/coredns:v$COREDNS_VERSION|" "$root/hack/coredns.yaml" |
    kubectl apply -f - >/dev/null
  kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null ||
    die "CoreDNS not ready after 120s: kubectl -n kube-system describe pods -l k8s-app=kube-dns"
  log "cluster DNS: CoreDNS v$COREDNS_VERSION at $DNS_IP serves $CLUSTER_DOMAIN"
}

if [ "${CLUSTER:-local}" = kind ]; then
  # Where kind and a Docker engine exist: a kind cluster instead, same
  # kubeconfig path; `CLUSTER=kind make images` loads the images into it.
  mkdir -p "$D"
  kind get clusters 2>/dev/null | grep -qx switchboard ||
    kind create cluster --name switchboard --image "kindest/node:v$K8S_VERSION" --kubeconfig "$KUBECONFIG"
  kind get kubeconfig --name switchboard > "$KUBECONFIG"
  log "up (kind): export KUBECONFIG=$KUBECONFIG"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "run as root: kubelet, containerd and the CNI plugins need it"
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd; do
  [ -x "$BIN/$c" ] || NEED_BUILD=1
done
if [ -n "${NEED_BUILD:-}" ]; then
  log "building the Kubernetes components (once; ~15 min on 2 cores)"
  "$root/hack/build-k8s.sh" kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd
fi
if ! command -v containerd >/dev/null || ! command -v runc >/dev/null || [ ! -x /usr/lib/cni/bridge ] ||
  ! command -v conntrack >/dev/null || ! command -v iptables >/dev/null; then
  log "installing containerd, runc, CNI plugins, iptables and conntrack from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    containerd runc containernetworking-plugins iptables conntrack >/dev/null
fi
[ -x "$BIN/kubectl" ] || (cd "$root" && go build -o "$BIN/kubectl" k8s.io/kubectl/cmd/kubectl 2>/dev/null) ||
  die "no kubectl in $BIN (hack/build-k8s.sh links or builds it)"

if running kube-apiserver && kubectl get --raw /readyz >/dev/null 2>&1; then
  if running kubelet && running kube-proxy; then
    if ! grep -q "^clusterDNS: \[$DNS_IP\]" "$D/etc/kubelet.yaml"; then
      # Started by an older version of this script: pods created from now
      # on get the cluster DNS (running ones keep their resolv.conf).
      log "restarting kubelet with clusterDNS $DNS_IP"
      kill "$(cat "$D/pid/kubelet")"
      for _ in $(seq 1 50); do running kubelet || break; sleep 0.2; done
      rm -f "$D/pid/kubelet"
      kubelet_config
      start_kubelet
      wait_for "node Ready" 90 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
    fi
    kubectl -n kube-system get deployment coredns >/dev/null 2>&1 || cluster_dns
    log "already running: export KUBECONFIG=$KUBECONFIG"
    exit 0
  fi
  # An earlier run stopped half-way (the node never came up): start clean.
  log "a half-started cluster is running: stopping it first"
  "$root/hack/cluster-down.sh"
fi
mkdir -p "$D"/{pki,pid,logs,run,etc/cni,containerd,kubelet,etcd}
# CoreDNS is built (once) before any component runs and wants the CPU.
"$root/hack/coredns.sh" --no-load

# --- certificates: one CA; every client authenticates with its own cert ---
cert() { # name CN O [SANs]
  local name=$1 cn=$2 o=$3 san=${4:-}
  [ -f "$pki/$name.crt" ] && return
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  local subj="/CN=$cn"; [ -n "$o" ] && subj="/O=$o/CN=$cn"
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  local ext=$pki/$name.ext
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi; } > "$ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 365 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
}
if [ ! -f "$pki/ca.crt" ]; then
  log "making certificates"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 365 \
    -subj "/CN=switchboard-local-ca" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
fi
cert apiserver kube-apiserver "" "IP:$GATEWAY,IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
cert admin admin system:masters
cert controller-manager system:kube-controller-manager ""
cert scheduler system:kube-scheduler ""
cert kube-proxy system:kube-proxy ""
cert kubelet "system:node:$NODE" system:nodes "IP:127.0.0.1,DNS:$NODE,DNS:localhost"

kubeconfig() { # name user-cert
  cat > "$D/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$API", certificate-authority: "$pki/ca.crt"}
users:
- name: $2
  user: {client-certificate: "$pki/$2.crt", client-key: "$pki/$2.key"}
contexts:
- name: local
  context: {cluster: local, user: $2, namespace: default}
current-context: local
KC
}
kubeconfig admin admin; cp "$D/admin.kubeconfig" "$D/kubeconfig"
for n in controller-manager scheduler kube-proxy kubelet; do kubeconfig "$n" "$n"; done

# --- the pod bridge first: the API server listens on its gateway ---
if ! ip link show cni0 >/dev/null 2>&1; then
  ip link add cni0 type bridge
  ip addr add "$GATEWAY/24" dev cni0
fi
ip link set cni0 up
sysctl -qw net.ipv4.ip_forward=1
modprobe br_netfilter 2>/dev/null || true
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
if ! iptables -nL SWITCHBOARD-API >/dev/null 2>&1; then
  iptables -N SWITCHBOARD-API
  iptables -A SWITCHBOARD-API -i lo -j RETURN
  iptables -A SWITCHBOARD-API -i cni0 -j RETURN
  iptables -A SWITCHBOARD-API -j DROP
  iptables -I INPUT -d "$GATEWAY" -j SWITCHBOARD-API
fi

# --- control plane ---
start etcd "$BIN/etcd" --data-dir "$D/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster default=http://127.0.0.1:2380 \
  --listen-metrics-urls http://127.0.0.1:2381 --unsafe-no-fsync=true
start kube-apiserver "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:2379 \
  --bind-address "$GATEWAY" --advertise-address "$GATEWAY" --secure-port 6443 \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC --anonymous-auth=false \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --enable-admission-plugins NodeRestriction \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true
wait_for "kube-apiserver" 60 kubectl get --raw /readyz
start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$D/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$D/controller-manager.kubeconfig" --authorization-kubeconfig "$D/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --use-service-account-credentials=true --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --allocate-node-cidrs=false --controllers '*,-nodeipam'
start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$D/scheduler.kubeconfig" \
  --authentication-kubeconfig "$D/scheduler.kubeconfig" --authorization-kubeconfig "$D/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false

# --- containerd with the CNI bridge; the sandbox image is built locally ---
cat > "$D/etc/cni/10-switchboard.conflist" <<CNI
{"cniVersion": "1.0.0", "name": "switchboard", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$GATEWAY"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$D/run/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}
CNI
containerd config default > "$D/etc/containerd.toml"
sed -i \
  -e "s|^root = .*|root = \"$D/containerd/root\"|" \
  -e "s|^state = .*|state = \"$D/containerd/state\"|" \
  -e "s|address = \"/run/containerd/containerd.sock\"|address = \"$D/run/containerd.sock\"|" \
  -e "s|sandbox_image = .*|sandbox_image = \"docker.io/$IMAGE_REPO/pause:$IMAGE_TAG\"|" \
  -e "s|bin_dir = \"/opt/cni/bin\"|bin_dir = \"/usr/lib/cni\"|" \
  -e "s|conf_dir = \"/etc/cni/net.d\"|conf_dir = \"$D/etc/cni\"|" \
  -e "s|restrict_oom_score_adj = false|restrict_oom_score_adj = true|" \
  -e "s|netns_mounts_under_state_dir = false|netns_mounts_under_state_dir = true|" \
  "$D/etc/containerd.toml"
sed -i -e '/\[grpc\]/,/^\[/ s|address = ".*containerd.sock"|address = "'"$D"'/run/containerd.sock"|' \
  -e '/\[ttrpc\]/,/^\[/ s|address = ""|address = "'"$D"'/run/containerd.ttrpc.sock"|' \
  -e '/\[debug\]/,/^\[/ s|address = ""|address = "'"$D"'/run/containerd.debug.sock"|' \
  "$D/etc/containerd.toml"
start containerd containerd --config "$D/etc/containerd.toml"
wait_for containerd 30 ctr --address "$D/run/containerd.sock" version
if ! ctr --address "$D/run/containerd.sock" -n k8s.io images ls -q | grep -q "/pause:$IMAGE_TAG"; then
  log "building and loading the project's images (the sandbox image among them)"
  "$root/hack/images.sh"
fi

# --- the node ---
kubelet_config
start_kubelet
kubectl patch node "$NODE" --type=merge -p "{\"spec\":{\"podCIDR\":\"$POD_CIDR\",\"podCIDRs\":[\"$POD_CIDR\"]}}" >/dev/null 2>&1 || true
start kube-proxy "$BIN/kube-proxy" --kubeconfig "$D/kube-proxy.kubeconfig" --hostname-override "$NODE" \
  --bind-address 127.0.0.1 --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249 \
  --cluster-cidr "$POD_CIDR" --proxy-mode iptables --conntrack-max-per-core 0
wait_for "node Ready" 90 kubectl wait --for=condition=Ready "node/$NODE" --timeout=1s
wait_for "default service account" 60 kubectl get serviceaccount default
cluster_dns

if [ "$FAKE_NODES" -gt 0 ]; then
  "$root/hack/fake-nodes.sh" "$FAKE_NODES"
fi
log "up: export KUBECONFIG=$KUBECONFIG   (stop with make cluster-down)"
