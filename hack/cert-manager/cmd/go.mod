// The controller, webhook and cainjector commands for the local cluster,
// built by hack/build-cert-manager.sh in a throwaway copy that adds the pinned
// github.com/cert-manager/cert-manager requirement and runs go mod tidy.
// cert-manager's own cmd/* modules are not on the Go module proxy (their
// versions are not tagged), so these thin mains wire up the library packages
// the release module does ship. The module path sits under cert-manager's so
// that its internal packages may be imported. Not part of the project's module.
module github.com/cert-manager/cert-manager/cmd/offline

go 1.26.0
