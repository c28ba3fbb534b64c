#!/usr/bin/env bash
# Runs the e2e suite (test/e2e) against the cluster $KUBECONFIG names. With
# no KUBECONFIG it starts the local cluster (hack/cluster-up.sh), installs
# Switchboard into it (hack/deploy-local.sh), loads the Jaeger image the
# tracing tests deploy (hack/jaeger.sh), installs Traefik, the Ingress and
# Gateway API controller of the gateway tests (hack/traefik.sh), runs the
# suite, and stops the cluster again (KEEP_CLUSTER=1 leaves it up).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
started=
if [ -z "${KUBECONFIG:-}" ]; then
  export KUBECONFIG=$root/bin/cluster/kubeconfig
  if [ ! -f bin/cluster/pid/kube-apiserver ] || ! kill -0 "$(cat bin/cluster/pid/kube-apiserver)" 2>/dev/null; then
    started=1
  fi
  # Also on a running cluster: one an older cluster-up started gets the
  # cluster DNS the suite now needs (it returns at once otherwise).
  hack/cluster-up.sh || exit 1
fi
rc=0
hack/deploy-local.sh || rc=$?
# The trace backend of the tracing tests (built once, cached in bin/jaeger).
[ $rc -eq 0 ] && { hack/jaeger.sh || rc=$?; }
# The Ingress and Gateway API controller of the gateway tests (built once,
# cached in bin/traefik; installed in namespace traefik).
[ $rc -eq 0 ] && { hack/traefik.sh || rc=$?; }
if [ $rc -eq 0 ]; then
  log "go test -tags e2e ./test/e2e"
  go test -tags e2e ./test/e2e -count=1 -timeout 60m || rc=$?
fi
if [ -n "$started" ] && [ -z "${KEEP_CLUSTER:-}" ]; then
  hack/cluster-down.sh
fi
exit $rc
