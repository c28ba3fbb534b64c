#!/usr/bin/env bash
# Installs cert-manager into the cluster $KUBECONFIG names and waits until it
# works: the manifest from `make cert-manager` (its images loaded into the
# node by `make images`) is applied, then, within CERT_MANAGER_TIMEOUT seconds
# overall (default 300):
#   1. the six CRDs are Established;
#   2. deployments cert-manager, cert-manager-webhook and cert-manager-cainjector
#      are Available;
#   3. the webhook admits a self-signed Issuer in a scratch namespace (retried
#      while the webhook is unreachable or its CA is not injected yet);
#   4. the controller issues a Certificate from that Issuer (Ready=True).
# On timeout it names the step and what is not ready, and exits 1.
# Usage: KUBECONFIG=... hack/install-cert-manager.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
: "${KUBECONFIG:?KUBECONFIG must name the cluster to install cert-manager into}"
export KUBECONFIG
manifest=${CERT_MANAGER_MANIFEST:-$root/bin/cert-manager/v$CERT_MANAGER_VERSION/cert-manager.yaml}
timeout=${CERT_MANAGER_TIMEOUT:-300}
ns="cert-manager"
scratch="cert-manager-check-$(date +%s)"  # new each run: an old one may still be terminating
deployments=(cert-manager cert-manager-webhook cert-manager-cainjector)

log() { printf '[install-cert-manager %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'install-cert-manager: %s\n' "$*" >&2; exit 1; }

kubectl=$root/bin/k8s/v$K8S_VERSION/kubectl
[ -x "$kubectl" ] || kubectl=$(command -v kubectl) || die "no kubectl: neither bin/k8s/v$K8S_VERSION/kubectl nor one on PATH"
k() { "$kubectl" "$@"; }
[ -f "$manifest" ] || die "no $manifest: run 'make cert-manager' first"

deadline=$((SECONDS + timeout))
left() { local s=$((deadline - SECONDS)); [ $s -gt 0 ] || s=1; echo "${s}s"; }

log "applying $manifest"
# Server-side apply: three CRDs are larger than the 256 KiB that client-side
# apply's last-applied-configuration annotation may hold.
k apply --server-side --force-conflicts --field-manager=switchboard-install -f "$manifest" >/dev/null

log "1/4 waiting for the CRDs to be Established"
crds=$(k get crd -o name | grep -E '\.(acme\.)?cert-manager\.io$' || true)
[ -n "$crds" ] || die "step 1/4: no cert-manager CRDs on the server after apply"
# shellcheck disable=SC2086
if ! k wait --for=condition=Established --timeout="$(left)" $crds >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  die "step 1/4: CRDs not Established within ${timeout}s: $(k get $crds -o jsonpath='{range .items[*]}{.metadata.name} Established={.status.conditions[?(@.type=="Established")].status}; {end}' 2>&1)"
fi

# Says why a deployment is not Available: its conditions and its pods' states.
explain() {
  local d=$1 conds sel pods
  conds=$(k -n "$ns" get deploy "$d" -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}: {.message}); {end}' 2>&1)
  echo "deployment/$d: ${conds:-no status yet (is kube-controller-manager running?)}"
  # shellcheck disable=SC2016
  sel=$(k -n "$ns" get deploy "$d" -o go-template='{{range $k, $v := .spec.selector.matchLabels}}{{$k}}={{$v}},{{end}}' 2>/dev/null)
  pods=$(k -n "$ns" get pods -l "${sel%,}" -o go-template='{{range .items}}  pod/{{.metadata.name}} {{.status.phase}}{{range .status.containerStatuses}} {{.name}}:{{if .state.waiting}} waiting {{.state.waiting.reason}} {{.state.waiting.message}}{{end}}{{if .state.terminated}} terminated {{.state.terminated.reason}} exit {{.state.terminated.exitCode}}{{end}}{{if .ready}} ready{{end}} restarts={{.restartCount}}{{end}}{{"\n"}}{{end}}' 2>&1)
  echo "${pods:-  no pods}"
}

log "2/4 waiting for deployments ${deployments[*]} to be Available"
for d in "${deployments[@]}"; do
  if ! k -n "$ns" wait --for=condition=Available --timeout="$(left)" "deploy/$d" >/dev/null 2>&1; then
    msg="step 2/4: not Available within ${timeout}s:"
    for d2 in "${deployments[@]}"; do
      [ "$(k -n "$ns" get deploy "$d2" -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null)" = True ] && continue
      msg+=$'\n'"$(explain "$d2")"
    done
    [[ $msg != *ErrImageNeverPull* ]] || msg+=$'\n'"ErrImageNeverPull: the image is not in the node's containerd; run 'make images' with the cluster up"
    die "$msg"
  fi
done

cleanup() { k delete namespace "$scratch" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT
k create namespace "$scratch" >/dev/null

log "3/4 waiting for the webhook to admit an Issuer"
issuer=$(cat <<YAML
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selfsigned, namespace: $scratch}
spec: {selfSigned: {}}
YAML
)
until out=$(k create -f - <<<"$issuer" 2>&1) || [[ $out == *AlreadyExists* ]]; do
  [ $SECONDS -lt $deadline ] || die "step 3/4: the cert-manager webhook did not admit an Issuer within ${timeout}s; last answer: $out"
  sleep 2
done

log "4/4 waiting for the controller to issue a Certificate"
k apply -f - >/dev/null <<YAML
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: check, namespace: $scratch}
spec:
  secretName: check-tls
  dnsNames: [check.$scratch.svc]
  issuerRef: {kind: Issuer, name: selfsigned}
YAML
if ! k -n "$scratch" wait --for=condition=Ready --timeout="$(left)" certificate/check >/dev/null 2>&1; then
  conds='{range .status.conditions[*]}{.type}={.status} ({.reason}: {.message}); {end}'
  cert=$(k -n "$scratch" get certificate check -o jsonpath="$conds" 2>&1)
  iss=$(k -n "$scratch" get issuer selfsigned -o jsonpath="$conds" 2>&1)
  die "step 4/4: Certificate $scratch/check not Ready within ${timeout}s: ${cert:-no status (the controller has not acted on it)}
Issuer $scratch/selfsigned: ${iss:-no status (the controller has not acted on it)}
$(explain cert-manager)"
fi
log "cert-manager v$CERT_MANAGER_VERSION is ready (webhook admits, controller issues)"
