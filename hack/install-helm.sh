#!/usr/bin/env bash
# Builds the real helm v3 CLI into bin/helm from the Go module proxy (no
# binary downloads are reachable here), pinned by HELM_VERSION in
# hack/versions.env. Skips when bin/helm already is that version.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
helm=$root/bin/helm
if [ -x "$helm" ] && [ "$("$helm" version --template '{{.Version}}' 2>/dev/null)" = "$HELM_VERSION" ]; then
  exit 0
fi
echo "[install-helm] go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
mkdir -p "$root/bin"
# -ldflags: without it `helm version` prints only the minor version (v3.22).
GOBIN=$root/bin go install \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
