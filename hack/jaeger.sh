#!/usr/bin/env bash
# Builds Jaeger's all-in-one binary (Jaeger v2, an OpenTelemetry Collector
# distribution) from the Go module proxy, pinned to JAEGER_VERSION in
# hack/versions.env, packs it as the image switchboard.local/jaeger:v$VERSION
# (non-root, no base image) and loads it into the local cluster's containerd
# (or kind's, with CLUSTER=kind) — the trace backend of the tracing e2e test.
#
# The binary is built from hack/tools/jaeger, a module of its own with a
# `tool` directive, so that Jaeger's ~300 dependencies stay out of the
# project's go.mod. It is cached in bin/jaeger/v$VERSION and not rebuilt.
# The binary serves Jaeger's API; its UI is a placeholder page (the module
# does not ship the UI's built assets).
#
# Usage: hack/jaeger.sh [--no-load]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
log() { printf '[jaeger %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=progress.sh
. hack/progress.sh
# shellcheck source=toolimage.sh
. hack/toolimage.sh

version=v$JAEGER_VERSION
bin=bin/jaeger/$version/jaeger
tar=bin/images/jaeger.tar
tag=switchboard.local/jaeger:$version

if [ ! -x "$bin" ]; then
  # The pin and the tool module must agree: bump both together.
  tool_pinned hack/tools/jaeger github.com/jaegertracing/jaeger "$version" \
    "cd hack/tools/jaeger && go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@$version && go mod tidy"
  mkdir -p "$(dirname "$bin")"
  with_progress "jaeger $version" env CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go -C hack/tools/jaeger build -trimpath \
    -ldflags "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$version" \
    -o "$root/$bin" github.com/jaegertracing/jaeger/cmd/jaeger
fi

tool_image "$bin" "$tag" "$tar"

[ "${1:-}" = --no-load ] && exit 0
load_image "$tar" "$tag" || true
