# shellcheck shell=bash
# Sourced by the scripts that build a third-party tool from a module of its
# own under hack/tools (hack/coredns.sh, hack/jaeger.sh, hack/traefik.sh,
# which run it as an image on the local cluster, and hack/toolhive-proxy.sh,
# whose binary the bench runs). Uses the caller's log function and $root.

# tool_pinned DIR MODULE VERSION HINT...: the tool module DIR requires
# MODULE at VERSION, the pin in hack/versions.env; otherwise says so, then
# the HINT lines (how to bump both together), and fails.
tool_pinned() {
  local dir=$1 module=$2 version=$3; shift 3
  grep -q "$module $version\b" "$dir/go.mod" && return 0
  log "$dir/go.mod does not require $module $version (hack/versions.env); run:"
  local line
  for line in "$@"; do log "  $line"; done
  return 1
}

# tool_image BIN TAG TAR: packs the binary BIN as the image TAG (non-root,
# no base image, BIN's name as its entrypoint) into the tarball TAR.
tool_image() {
  local bin=$1 tag=$2 tar=$3 name
  name=$(basename "$bin")
  go build -o "$root/bin/imagebuild" "$root/hack/imagebuild"
  "$root/bin/imagebuild" --tag "$tag" --out "$tar" \
    --file "$bin:/$name" --entrypoint "/$name" --user 65532:65532
  log "built $tag ($tar)"
}

# load_image TAR TAG: loads the image into kind (CLUSTER=kind) or the local
# cluster's containerd. Returns 1, having said so, when no local cluster
# runs: the image is built for the next one.
load_image() {
  local tar=$1 tag=$2
  if [ "${CLUSTER:-local}" = kind ]; then
    kind load image-archive "$tar"
    return
  fi
  local sock=${CLUSTER_DIR:-$root/bin/cluster}/run/containerd.sock
  if [ ! -S "$sock" ]; then
    log "the local cluster is not running (no $sock): image built, not loaded"
    return 1
  fi
  ctr --address "$sock" -n k8s.io images import "$tar" >/dev/null
  log "loaded $tag into the local cluster's containerd"
}
