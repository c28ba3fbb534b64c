// Package testenv starts a real kube-apiserver and etcd (envtest) with the
// project's CRDs and, optionally, its webhook configurations. The binaries
// come from hack/build-k8s.sh through KUBEBUILDER_ASSETS (make test sets it).
package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts the API server. A missing KUBEBUILDER_ASSETS is an error, never
// a skip: a suite that silently runs nothing proves nothing.
func Start(withWebhooks bool) (*envtest.Environment, *rest.Config, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make test`, or `make envtest-assets` and export KUBEBUILDER_ASSETS=$(pwd)/bin/k8s/v<version>")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(Root(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if withWebhooks {
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(Root(), "config", "webhook")}}
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, err
	}
	return env, cfg, nil
}
