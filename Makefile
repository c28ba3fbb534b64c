# Switchboard — kubebuilder-style targets. Every tool is built into bin/ from
# the Go module proxy (hack/versions.env pins the versions).
include hack/versions.env

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
LOCALBIN := $(CURDIR)/bin
CONTROLLER_GEN := $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT := $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
K8S_BIN_DIR ?= $(LOCALBIN)/k8s/v$(K8S_VERSION)
export KUBEBUILDER_ASSETS ?= $(K8S_BIN_DIR)
IMG ?= switchboard/manager:dev

.PHONY: all
all: build

##@ General
.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development
.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs, RBAC and webhook configurations, and the Helm chart from config/default.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./api/...;./internal/...;./cmd/..." output:crd:artifacts:config=config/crd/bases
	go run ./hack/crd-versions
	go run ./hack/gen-chart

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/...;./internal/...;./cmd/..."

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated files are out of date.
	@test -z "$$(git status --porcelain -- config api deploy)" || { git status --short -- config api deploy; echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint.
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd from source (cached in bin/k8s).
	hack/build-k8s.sh kube-apiserver etcd >/dev/null

.PHONY: peers
peers: ## Install the real MCP peers from npm (server-everything, TypeScript SDK).
	hack/install-peers.sh

.PHONY: redis
redis: ## Install Debian's redis-server for the session-routing tests (when missing).
	hack/install-redis.sh

.PHONY: helm
helm: ## Build the helm CLI from the Go module proxy into bin/helm (for the chart test).
	hack/install-helm.sh

.PHONY: test
test: test-unit test-e2e ## All tests: generated files, vet, lint, unit, envtest, MCP peers, then e2e on the local cluster.

.PHONY: test-unit
test-unit: verify-generated vet lint envtest-assets peers redis helm ## Everything but e2e: generated files, vet, lint, unit, envtest and peer suites; the proxy again under the race detector.
	go test ./... -count=1
	go test -race -count=1 ./internal/proxy/...

.PHONY: test-e2e
test-e2e: redis ## e2e on the cluster $$KUBECONFIG names; without one, on the local cluster, started (and stopped) for the run.
	hack/e2e.sh

##@ Build
.PHONY: build
build: ## Build the manager, proxy and switchboard binaries into bin/.
	go build -o $(LOCALBIN)/ ./cmd/...

.PHONY: run
run: manifests generate ## Run the manager against the cluster $KUBECONFIG names (webhooks off).
	go run ./cmd/manager --enable-webhooks=false

.PHONY: quickstart
quickstart: ## README command 1: local cluster, cert-manager, operator, the osv example Ready, its tools listed.
	hack/quickstart.sh

.PHONY: demo
demo: envtest-assets ## Local demo: API server + operator + webhooks, apply samples, show the result.
	go run ./test/demo

##@ Local cluster
.PHONY: cluster-up
cluster-up: ## Start a real single-node Kubernetes here (builds what is missing; kubeconfig in bin/cluster/kubeconfig). FAKE_NODES=N adds KWOK nodes.
	hack/cluster-up.sh $(if $(FAKE_NODES),--fake-nodes $(FAKE_NODES))

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and remove its processes, mounts, bridge and state.
	hack/cluster-down.sh

.PHONY: images
images: ## Build the operator, proxy, test MCP server, CLI and pause images (no Docker) and load them into the local cluster.
	hack/images.sh

.PHONY: traefik
traefik: ## Build Traefik v$(TRAEFIK_VERSION) as an image and install it into the local cluster as its Ingress and Gateway API controller (listener 127.0.0.1:18000).
	hack/traefik.sh

.PHONY: jaeger-image
jaeger-image: ## Build Jaeger v$(JAEGER_VERSION) all-in-one (the tracing tests' trace backend) as an image and load it into the local cluster.
	hack/jaeger.sh

.PHONY: cert-manager
cert-manager: ## Build cert-manager (controller, webhook, cainjector) and render its install manifest into bin/cert-manager/v$(CERT_MANAGER_VERSION).
	hack/build-cert-manager.sh >/dev/null
	hack/cert-manager-manifests.sh >/dev/null

##@ Deployment
.PHONY: install
install: manifests ## Install the CRDs into $KUBECONFIG's cluster.
	kubectl apply -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs.
	kubectl delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator with config/default (needs cert-manager).
	cd config/manager && kubectl kustomize . >/dev/null
	kubectl apply -k config/default

.PHONY: undeploy
undeploy: ## Remove the operator.
	kubectl delete --ignore-not-found -k config/default

##@ Tools
$(CONTROLLER_GEN):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $@

$(GOLANGCI_LINT):
	@mkdir -p $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $@

##@ Benchmarks
.PHONY: bench
BENCH_FLAGS ?=
bench: redis ## Every path vs direct (interleaved rounds, proxy CPU/1k calls; ToolHive, supergateway as references), access, observe, sessions/s, memory (docs/benchmarks.md). BENCH_FLAGS="-rounds 5 -duration 3s -sessions 1,8,32 -paths-only"
	go run ./test/bench $(BENCH_FLAGS)

.PHONY: bench-operator
bench-operator: ## The operator at scale on the local cluster (as root on its host; FAKE_NODES KWOK nodes, default 20): 1,000 MCPServers to Ready, manager memory, requests per reconcile, admission latency.
	hack/fake-nodes.sh $(or $(FAKE_NODES),20)
	go run ./test/benchoperator $(BENCH_ARGS)
