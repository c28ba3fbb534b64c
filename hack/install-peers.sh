#!/usr/bin/env bash
# Installs the real MCP peers the proxy is tested against (test/peers:
# @modelcontextprotocol/server-everything and the TypeScript SDK) from the
# npm registry, pinned by test/peers/package-lock.json. Skips when current.
set -euo pipefail
dir=$(cd "$(dirname "$0")/../test/peers" && pwd)
stamp=$dir/node_modules/.installed
if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "install-peers: npm is required (apt-get install -y nodejs npm)" >&2; exit 1; }
echo "[install-peers] npm ci in test/peers" >&2
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
touch "$stamp"
