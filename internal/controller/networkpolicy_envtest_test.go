package controller_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// TestNetworkPoliciesFollowTheSpec: spec.networkPolicy creates both
// policies, owned by the server and shown in its status; a deleted one
// comes back; enabled: false removes them and the condition.
func TestNetworkPoliciesFollowTheSpec(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "fetch", v1beta1.MCPServerSpec{
		Image: "ghcr.io/example/fetch", Transport: "streamable-http", MCPPort: 3000,
		NetworkPolicy: &v1beta1.NetworkPolicyConfig{Egress: &v1beta1.NetworkPolicyEgress{}},
	})

	policies := map[string]string{"mcp-fetch-proxy": "proxy", "mcp-fetch-backend": "mcp"}
	for name, component := range policies {
		eventually(t, "NetworkPolicy "+name, func() error { return ownedPolicyOf(t, ns, name, component) })
	}
	var backend networkingv1.NetworkPolicy
	if err := get(t, ns, "mcp-fetch-backend", &backend); err != nil {
		t.Fatal(err)
	}
	if len(backend.Spec.Ingress) != 1 || backend.Spec.Ingress[0].Ports[0].Port.IntVal != 3000 || len(backend.Spec.PolicyTypes) != 2 {
		t.Errorf("backend policy: ingress %+v, policy types %v; want the proxy on 3000, and egress restricted", backend.Spec.Ingress, backend.Spec.PolicyTypes)
	}
	statusOf(t, ns, "fetch", "NetworkPolicyApplied", func(st v1beta1.MCPServerStatus) error {
		if c := condition(st, v1beta1.ConditionNetworkPolicyApplied); c == nil || c.Status != "True" {
			return fmt.Errorf("condition %+v", c)
		}
		return nil
	})

	if err := k8s.Delete(ctx, &backend); err != nil {
		t.Fatalf("delete backend policy: %v", err)
	}
	eventually(t, "backend policy re-created", func() error {
		var np networkingv1.NetworkPolicy
		if err := get(t, ns, "mcp-fetch-backend", &np); err != nil {
			return err
		}
		if np.UID == backend.UID {
			return errors.New("still the deleted object")
		}
		return nil
	})

	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s v1beta1.MCPServer
		if err := get(t, ns, "fetch", &s); err != nil {
			return err
		}
		s.Spec.NetworkPolicy.Enabled = ptr.To(false)
		return k8s.Update(ctx, &s)
	}); err != nil {
		t.Fatalf("turn the policies off: %v", err)
	}
	for name := range policies {
		eventually(t, "NetworkPolicy "+name+" removed", func() error {
			var np networkingv1.NetworkPolicy
			if err := get(t, ns, name, &np); !apierrors.IsNotFound(err) {
				return fmt.Errorf("get: %w, want not found", err)
			}
			return nil
		})
	}
	statusOf(t, ns, "fetch", "NetworkPolicyApplied gone", func(st v1beta1.MCPServerStatus) error {
		if c := condition(st, v1beta1.ConditionNetworkPolicyApplied); c != nil {
			return fmt.Errorf("condition %+v still there", c)
		}
		return nil
	})
}

// ownedPolicyOf: the NetworkPolicy exists, the server controls it, and it
// selects the pods of component.
func ownedPolicyOf(t *testing.T, ns, name, component string) error {
	var np networkingv1.NetworkPolicy
	if err := get(t, ns, name, &np); err != nil {
		return err
	}
	if refs := np.OwnerReferences; len(refs) != 1 || refs[0].Name != "fetch" || !ptr.Deref(refs[0].Controller, false) {
		return fmt.Errorf("owner references %+v, want the MCPServer as controller", refs)
	}
	if got := np.Spec.PodSelector.MatchLabels["app.kubernetes.io/component"]; got != component {
		return fmt.Errorf("selects component %q, want %q", got, component)
	}
	return nil
}

// TestNetworkPolicyPeersAreCheckedByTheSchema: CEL refuses a peer that is
// both an address range and a selector, naming the field.
func TestNetworkPolicyPeersAreCheckedByTheSchema(t *testing.T) {
	ns := namespace(t)
	s := &v1beta1.MCPServer{Spec: v1beta1.MCPServerSpec{Image: "ghcr.io/example/fetch", NetworkPolicy: &v1beta1.NetworkPolicyConfig{
		Ingress: &v1beta1.NetworkPolicyIngress{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: &metav1.LabelSelector{}}}},
	}}}
	s.Namespace, s.Name = ns, "mixed"
	err := k8s.Create(ctx, s)
	const field, want = "spec.networkPolicy.ingress.from", "each entry is either an ipBlock or a podSelector and/or namespaceSelector"
	if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), want) {
		t.Fatalf("create: %v\nwant an error at %s saying %q", err, field, want)
	}
}
