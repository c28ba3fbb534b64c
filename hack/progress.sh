# shellcheck shell=bash
# Sourced by hack/*.sh: with_progress WHAT CMD... runs CMD and prints a line
# every 30s while it runs (CI and users see that a long build is alive). Uses
# the caller's log function.
with_progress() {
  local what=$1; shift
  local start=$SECONDS
  ( while sleep 30; do log "still building $what ($((SECONDS - start))s)"; done ) &
  local ticker=$!
  local rc=0
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  [ $rc -eq 0 ] && log "built $what in $((SECONDS - start))s"
  return $rc
}
