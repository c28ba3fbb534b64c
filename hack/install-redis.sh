#!/usr/bin/env bash
# Makes redis-server available for the session-routing tests: Debian's
# package, installed when missing (root, as on CI machines).
set -euo pipefail
command -v redis-server >/dev/null && exit 0
echo "[install-redis] apt-get install redis-server" >&2
if [ "$(id -u)" != 0 ]; then echo "install-redis: redis-server is missing and this is not root: apt-get install -y redis-server" >&2; exit 1; fi
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null

# The package may start its own instance on 6379; tests start their own.
# Stop that instance and no other: a redis-server someone else runs on
# this machine is none of our business.
if service redis-server stop >/dev/null 2>&1 || systemctl stop redis-server >/dev/null 2>&1; then
	exit 0
fi
# No init system answered: the instance, if it runs, wrote the pidfile its
# configuration names.
pidfile=$(awk '$1 == "pidfile" { print $2 }' /etc/redis/redis.conf 2>/dev/null || true)
pid=$(cat "${pidfile:-/run/redis/redis-server.pid}" 2>/dev/null || true)
if [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = redis-server ]; then
	kill "$pid"
fi
