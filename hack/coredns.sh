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
# shellcheck source=toolimage.sh
. hack/toolimage.sh

version=v$COREDNS_VERSION
bin=bin/coredns/$version/coredns
tar=bin/images/coredns.tar
tag=switchboard.local/coredns:$version

if [ ! -x "$bin" ]; then
  # The pin and the tool module must agree: bump both together.
  tool_pinned hack/tools/coredns github.com/coredns/coredns "$version" \
    "cd hack/tools/coredns && go get github.com/coredns/coredns@$version && go mod tidy"
  mkdir -p "$(dirname "$bin")"
  with_progress "coredns $version" env CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go -C hack/tools/coredns build -trimpath -ldflags "-s -w" -o "$root/$bin" .
fi

[ "$tar" -nt "$bin" ] || tool_image "$bin" "$tag" "$tar"

[ "${1:-}" = --no-load ] && exit 0
if [ "${CLUSTER:-local}" = kind ]; then
  log "kind runs a CoreDNS of its own: image built, not loaded"
  exit 0
fi
load_image "$tar" "$tag" || true
