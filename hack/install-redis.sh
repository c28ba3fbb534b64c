#!/usr/bin/env bash
# Makes redis-server available for the session-routing tests: Debian's
# package, installed when missing (root, as on CI machines).
set -euo pipefail
command -v redis-server >/dev/null && exit 0
echo "[install-redis] apt-get install redis-server" >&2
if [ "$(id -u)" != 0 ]; then echo "install-redis: redis-server is missing and this is not root: apt-get install -y redis-server" >&2; exit 1; fi
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# The package starts a system instance on 6379; tests start their own.
(service redis-server stop || systemctl stop redis-server || pkill -x redis-server) >/dev/null 2>&1 || true
