#!/usr/bin/env bash
# Builds the project's images without a Docker engine or a registry: static
# binaries (CGO off) packed by hack/imagebuild (go-containerregistry) into
# docker-archive tarballs under bin/images, then loaded into the local
# cluster's containerd (hack/cluster-up.sh) or, with CLUSTER=kind, into kind.
# Usage: hack/images.sh [--no-load]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
OUT=bin/images
mkdir -p "$OUT" bin/linux
log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# name:package:user — the operator and proxy run as non-root; the test MCP
# server and the test OIDC provider too. pause is the pods' sandbox image.
# switchboard is the CLI, an MCP client for pods (the DNS e2e test calls a
# tool through an MCPServer's status.url from inside the cluster).
# go build -o bin/linux/ names a binary after its package's last path element: name.
images=(
  "manager:./cmd/manager:65532:65532"
  "proxy:./cmd/proxy:65532:65532"
  "mcpserver:./test/mcpserver:65532:65532"
  "oidc-provider:./test/oidcprovider/cmd/oidc-provider:65532:65532"
  "pause:./hack/pause:65535:65535"
  "switchboard:./cmd/switchboard:65532:65532"
)
log "building linux/amd64 binaries"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" -o bin/linux/ \
  ./cmd/manager ./cmd/proxy ./test/mcpserver ./test/oidcprovider/cmd/oidc-provider ./hack/pause ./cmd/switchboard
go build -o bin/imagebuild ./hack/imagebuild
for spec in "${images[@]}"; do
  IFS=: read -r name _ user group <<<"$spec"
  bin/imagebuild --tag "$IMAGE_REPO/$name:$IMAGE_TAG" --out "$OUT/$name.tar" \
    --file "bin/linux/$name:/$name" --entrypoint "/$name" --user "$user:$group"
  log "built $IMAGE_REPO/$name:$IMAGE_TAG ($OUT/$name.tar)"
done

# cert-manager, when make cert-manager has built it: the binaries at the
# paths upstream's images use, run as non-root.
cm=bin/cert-manager/v$CERT_MANAGER_VERSION
if [ -x "$cm/controller" ]; then
  for b in controller webhook cainjector; do
    bin/imagebuild --tag "switchboard.local/cert-manager-$b:v$CERT_MANAGER_VERSION" --out "$OUT/cert-manager-$b.tar" \
      --file "$cm/$b:/app/cmd/$b/$b" --entrypoint "/app/cmd/$b/$b" --user 65532:65532
    images+=("cert-manager-$b")
  done
  log "built the cert-manager images (v$CERT_MANAGER_VERSION)"
fi

[ "${1:-}" = --no-load ] && exit 0
if [ "${CLUSTER:-local}" = kind ]; then
  for spec in "${images[@]}"; do kind load image-archive "$OUT/${spec%%:*}.tar"; done
  exit 0
fi
sock=$root/bin/cluster/run/containerd.sock
if [ ! -S "$sock" ]; then
  log "the local cluster is not running (no $sock): images built, not loaded; run make cluster-up"
  exit 0
fi
for spec in "${images[@]}"; do
  ctr --address "$sock" -n k8s.io images import "$OUT/${spec%%:*}.tar" >/dev/null
done
log "loaded into the local cluster's containerd"
