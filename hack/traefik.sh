#!/usr/bin/env bash
# Builds Traefik from the Go module proxy, pinned to TRAEFIK_VERSION in
# hack/versions.env, packs it as the image switchboard.local/traefik:v$VERSION
# (non-root, no base image), loads it into the local cluster's containerd
# (or kind's, with CLUSTER=kind) and installs it as the cluster's Ingress
# and Gateway API controller: the Gateway API CRDs (standard channel, of
# the sigs.k8s.io/gateway-api version Traefik requires) and Traefik's CRDs,
# both read from the module cache, then hack/traefik/traefik.yaml. Its
# listener is 127.0.0.1:18000 on the host (a hostPort). The gateway e2e test
# routes to MCPServers through it.
#
# The binary is built from hack/tools/traefik, a module of its own with a
# `tool` directive, so that Traefik's dependencies stay out of the
# project's go.mod. It is cached in bin/traefik/v$VERSION and not rebuilt.
#
# Usage: hack/traefik.sh [--no-load | --no-install]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
log() { printf '[traefik %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=progress.sh
. hack/progress.sh
# shellcheck source=toolimage.sh
. hack/toolimage.sh

version=v$TRAEFIK_VERSION
bin=bin/traefik/$version/traefik
tar=bin/images/traefik.tar
tag=switchboard.local/traefik:$version
tool() { go -C hack/tools/traefik "$@"; }

if [ ! -x "$bin" ]; then
  # The pin and the tool module must agree: bump both together.
  tool_pinned hack/tools/traefik github.com/traefik/traefik/v3 "$version" \
    "cd hack/tools/traefik && go get -tool github.com/traefik/traefik/v3/cmd/traefik@$version && go mod tidy" \
    "(and copy the replace and exclude directives of Traefik's go.mod of that version)"
  mkdir -p "$(dirname "$bin")"
  with_progress "traefik $version" env CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
    go -C hack/tools/traefik build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$version" \
    -o "$root/$bin" github.com/traefik/traefik/v3/cmd/traefik
fi

tool_image "$bin" "$tag" "$tar"

[ "${1:-}" = --no-load ] && exit 0
load_image "$tar" "$tag" || exit 0

[ "${1:-}" = --no-install ] && exit 0
: "${KUBECONFIG:=$root/bin/cluster/kubeconfig}"
export KUBECONFIG
kubectl() { "bin/k8s/v$K8S_VERSION/kubectl" "$@"; }
tool mod download github.com/traefik/traefik/v3 sigs.k8s.io/gateway-api
traefik_dir=$(tool list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)
gwapi_dir=$(tool list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
log "CRDs: Gateway API $(tool list -m -f '{{.Version}}' sigs.k8s.io/gateway-api) (standard) and Traefik's"
# Server-side: Traefik's Middleware CRD is too large for the annotation of
# a client-side apply.
kubectl apply --server-side --force-conflicts -f "$gwapi_dir/config/crd/standard/" >/dev/null
kubectl apply --server-side --force-conflicts \
  -f "$traefik_dir/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" >/dev/null
kubectl wait --for=condition=Established --timeout=60s \
  crd/gateways.gateway.networking.k8s.io crd/httproutes.gateway.networking.k8s.io crd/middlewares.traefik.io >/dev/null
installed=$(kubectl -n traefik get deployment/traefik -o name 2>/dev/null || true)
sed "s/TRAEFIK_TAG/$version/" hack/traefik/traefik.yaml | kubectl apply --server-side --force-conflicts -f - >/dev/null
# The image was reloaded under the same tag: a pod already running would
# go on with the old one.
[ -n "$installed" ] && kubectl -n traefik rollout restart deployment/traefik >/dev/null
kubectl -n traefik rollout status deployment/traefik --timeout=180s
log "Traefik $version serves Ingresses and HTTPRoutes at http://127.0.0.1:18000"
