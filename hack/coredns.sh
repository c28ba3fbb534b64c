#!/usr/bin/env bash
# Builds CoreDNS from the Go module proxy, pinned to COREDNS_VERSION in
# hack/versions.env, packs it as the image switchboard.local/coredns:v$VERSION
# (non-root, no base image) and loads it into the local cluster's
# containerd — the cluster DNS that hack/cluster-up.sh deploys with
# hack/coredns.yaml.
#
# The binary is built from hack/tools/coredns, a module of its own (so that
# CoreDNS's dependencies stay out of the project's go.mod) whose main links
# only the plugins the Corefile uses. It is cached in bin/coredns/v$VERSION
# and not rebuilt; the image tarball is repacked only when the binary is newer.
#
# Usage: hack/coredns.sh [--no-load]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
log() { printf '[coredns %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=progress.sh
. hack/progress.sh

version=v$COREDNS_VERSION
bin=bin/coredns/$version/coredns
tar=bin/images/coredns.tar
tag=switchboard.local/coredns:$version

if [ ! -x "$bin" ]; then
  # The pin and the tool module must agree: bump both together.
  if ! grep -q "github.com/coredns/coredns $version\b" hack/tools/coredns/go.mod; then
    log "hack/tools/coredns/go.mod does not require github.com/coredns/coredns $version (COREDNS_VERSION); run:"
    log "  cd hack/tools/coredns && go get github.com/coredns/coredns@$version && go mod tidy"
    exit 1
  fi
  mkdir -p "$(dirname "$bin")"
  with_progress "coredns $version" env CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go -C hack/tools/coredns build -trimpath -ldflags "-s -w" -o "$root/$bin" .
fi

if [ ! "$tar" -nt "$bin" ]; then
  go build -o bin/imagebuild ./hack/imagebuild
  bin/imagebuild --tag "$tag" --out "$tar" \
    --file "$bin:/coredns" --entrypoint /coredns --user 65532:65532
  log "built $tag ($tar)"
fi

[ "${1:-}" = --no-load ] && exit 0
if [ "${CLUSTER:-local}" = kind ]; then
  log "kind runs a CoreDNS of its own: image built, not loaded"
  exit 0
fi
sock=${CLUSTER_DIR:-$root/bin/cluster}/run/containerd.sock
if [ ! -S "$sock" ]; then
  log "the local cluster is not running (no $sock): image built, not loaded"
  exit 0
fi
ctr --address "$sock" -n k8s.io images import "$tar" >/dev/null
log "loaded $tag into the local cluster's containerd"
