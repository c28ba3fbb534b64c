// Built by hack/cert-manager-manifests.sh in a throwaway copy that adds the
// helm.sh/helm/v3 requirement and runs go mod tidy; a separate module so that
// Helm never enters the project's own go.mod.
module local/cert-manager-render

go 1.26.0
