#!/usr/bin/env bash
# Builds ToolHive's transparent proxy (v$TOOLHIVE_VERSION, hack/versions.env)
# as a command of its own from hack/tools/toolhive-proxy, a module of its own
# that needs Go $TOOLHIVE_GO_TOOLCHAIN (fetched through GOTOOLCHAIN) and
# substitutes three modules the Go module proxy does not serve here (see
# hack/tools/toolhive-proxy/go.mod). Cached in bin/toolhive-proxy/v$VERSION;
# prints the binary's path. `make bench` runs it for its reference row and
# leaves the row out, with this script's error, when the build fails.
#
# Usage: hack/toolhive-proxy.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
log() { printf '[toolhive-proxy %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# shellcheck source=progress.sh
. hack/progress.sh
# shellcheck source=toolimage.sh
. hack/toolimage.sh

version=v$TOOLHIVE_VERSION
bin=bin/toolhive-proxy/$version/toolhive-proxy
if [ ! -x "$bin" ]; then
  tool_pinned hack/tools/toolhive-proxy github.com/stacklok/toolhive "$version" \
    "go -C hack/tools/toolhive-proxy get github.com/stacklok/toolhive@$version (with GOTOOLCHAIN=$TOOLHIVE_GO_TOOLCHAIN)"
  mkdir -p "$(dirname "$bin")"
  with_progress "toolhive-proxy $version" env GOTOOLCHAIN="$TOOLHIVE_GO_TOOLCHAIN" CGO_ENABLED=0 \
    go -C hack/tools/toolhive-proxy build -trimpath -o "$root/$bin" .
fi
echo "$root/$bin"
