#!/usr/bin/env bash
# Installs supergateway v$SUPERGATEWAY_VERSION (hack/versions.env) from the
# npm registry into bin/supergateway/v$VERSION, the reference row of
# `make bench` for a stdio server offered over streamable HTTP. Skips when
# installed; prints the path of its command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=versions.env
. hack/versions.env
dir=bin/supergateway/v$SUPERGATEWAY_VERSION
cmd=$dir/node_modules/.bin/supergateway
if [ ! -x "$cmd" ]; then
  command -v npm >/dev/null || { echo "install-supergateway: npm is required (apt-get install -y nodejs npm)" >&2; exit 1; }
  echo "[install-supergateway] npm install supergateway@$SUPERGATEWAY_VERSION" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "supergateway@$SUPERGATEWAY_VERSION" >&2
fi
echo "$root/$cmd"
