package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// GeneratedObjects are the objects the reconciler applies for s (defaulted,
// with its decoded pod template tmpl), built by the same pure builders,
// before any reference is resolved: no Secret hashes, no access document,
// no telemetry export. Admission checks them (ValidateApply, or DryRunApply
// with --admission-dry-run) so that a server whose objects the API server
// would refuse is refused itself, at kubectl apply.
func GeneratedObjects(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, proxyImage string, np NetworkPolicyOptions) []client.Object {
	return desiredObjects(s, tmpl, proxyImage, resolvedRefs{}, np)
}

// DryRunApply sends obj to the API server as the reconciler would (server-
// side apply under the operator's field manager, forcing ownership) with
// dryRun=All: the API server validates and admits it, and stores nothing.
// It works whether or not the object exists yet.
func DryRunApply(ctx context.Context, c client.Client, obj client.Object) error {
	return apply(ctx, client.NewDryRunClient(c), obj)
}
