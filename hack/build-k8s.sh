#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries the tests need from the Go module
# proxy (no binary downloads are reachable here), pinned to hack/versions.env.
# Usage: hack/build-k8s.sh [component ...]   (default: kube-apiserver etcd)
# Output: $K8S_BIN_DIR (default bin/k8s/v$K8S_VERSION); skips what is present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
OUT=${K8S_BIN_DIR:-$root/bin/k8s/v$K8S_VERSION}
mkdir -p "$OUT"
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver etcd)

log() { printf '[build-k8s %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# shellcheck source=progress.sh
. "$root/hack/progress.sh"

k8s=()
for c in "${components[@]}"; do
  case $c in
    etcd) ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy)
      [ -x "$OUT/$c" ] || k8s+=("$c") ;;
    *) echo "build-k8s: unknown component $c" >&2; exit 2 ;;
  esac
done

if [ ${#k8s[@]} -gt 0 ]; then
  # A throwaway wrapper module: k8s.io/kubernetes pins its staging modules to
  # v0.0.0 with local replaces, so every one is replaced by its v0.x release.
  W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
  log "preparing wrapper module for Kubernetes v$K8S_VERSION (${k8s[*]})"
  (
    cd "$W"
    go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >/dev/null
    MOD=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod
    {
      echo "module local/k8sbins"; echo
      grep -E '^(go|godebug) ' "$MOD"; echo
      echo "require k8s.io/kubernetes v$K8S_VERSION"; echo
      echo "replace ("
      sed -n '/^replace (/,/^)/p' "$MOD" | awk -v v="v0.${K8S_VERSION#1.}" '/=>/ {print "\t"$1" => "$1" "v}'
      echo ")"
    } > go.mod
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
        printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"
      done
      printf ')\n'
    } > tools.go
    go mod tidy
    minor=${K8S_VERSION#1.}; minor=${minor%%.*}
    V=k8s.io/component-base/version
    pkgs=(); for c in "${k8s[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    with_progress "${k8s[*]}" go build -ldflags "-s -w -X $V.gitVersion=v$K8S_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean" \
      -o "$OUT/" "${pkgs[@]}"
  )
fi

if printf '%s\n' "${components[@]}" | grep -qx etcd && [ ! -x "$OUT/etcd" ]; then
  # etcd's server module has replace directives, so `go install` fails: wrap it too.
  W2=$(mktemp -d)
  log "building etcd v$ETCD_VERSION"
  (
    cd "$W2"
    go mod init local/etcdbin >/dev/null 2>&1
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null 2>&1
    go mod tidy >/dev/null 2>&1
    with_progress etcd go build -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$W2"
fi

# envtest looks for kubectl beside the other assets; use the machine's if any.
if [ ! -e "$OUT/kubectl" ] && command -v kubectl >/dev/null; then ln -s "$(command -v kubectl)" "$OUT/kubectl"; fi
log "ready: $OUT"
echo "$OUT"
