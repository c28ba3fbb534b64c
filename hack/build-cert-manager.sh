#!/usr/bin/env bash
# Builds cert-manager's controller, webhook and cainjector (static, linux/amd64)
# from the Go module proxy, pinned to CERT_MANAGER_VERSION in hack/versions.env,
# for the images of the local cluster.
#
# cert-manager's cmd/* are separate Go modules that are never tagged, so the
# proxy has no version of them; the release module github.com/cert-manager/
# cert-manager has every library package. hack/cert-manager/cmd holds thin
# mains over those packages (same flags as upstream's for what the Helm chart
# passes); they are built in a throwaway copy that requires the pinned version.
# The controller has no Venafi issuer: github.com/Venafi/vcert is not on the proxy.
#
# Usage: hack/build-cert-manager.sh [component ...]   (default: controller webhook cainjector)
# Output: $CERT_MANAGER_BIN_DIR (default bin/cert-manager/v$CERT_MANAGER_VERSION); skips what is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
OUT=${CERT_MANAGER_BIN_DIR:-$root/bin/cert-manager/v$CERT_MANAGER_VERSION}
mkdir -p "$OUT"
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(controller webhook cainjector)

log() { printf '[build-cert-manager %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=progress.sh
. "$root/hack/progress.sh"

todo=()
for c in "${components[@]}"; do
  case $c in
    controller|webhook|cainjector) [ -x "$OUT/$c" ] || todo+=("$c") ;;
    *) echo "build-cert-manager: unknown component $c" >&2; exit 2 ;;
  esac
done

if [ ${#todo[@]} -gt 0 ]; then
  W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
  cp -R "$root/hack/cert-manager/cmd/." "$W/"
  log "preparing wrapper module for cert-manager v$CERT_MANAGER_VERSION (${todo[*]})"
  (
    cd "$W"
    go mod edit -require="github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION"
    with_progress "the module graph (go mod tidy)" go mod tidy
    pkgs=(); for c in "${todo[@]}"; do pkgs+=("./$c"); done
    V=github.com/cert-manager/cert-manager/pkg/util
    with_progress "${todo[*]}" env CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
      go build -trimpath -ldflags "-s -w -X $V.AppVersion=v$CERT_MANAGER_VERSION -X $V.AppGitState=clean" -o "$OUT/" "${pkgs[@]}"
  )
fi
log "ready: $OUT"
echo "$OUT"
