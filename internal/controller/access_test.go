package controller_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// accessDoc is the access document the server's proxy watches.
func accessDoc(t *testing.T, ns, server string) (*proxyconfig.Access, error) {
	t.Helper()
	var cm corev1.ConfigMap
	if err := get(t, ns, "mcp-"+server+"-access", &cm); err != nil {
		return nil, err
	}
	return proxyconfig.ParseAccess([]byte(cm.Data[proxyconfig.AccessKey]))
}

// waitDoc waits until the server's access document passes ok.
func waitDoc(t *testing.T, ns, server, what string, ok func(*proxyconfig.Access) error) {
	t.Helper()
	eventually(t, what, func() error {
		doc, err := accessDoc(t, ns, server)
		if err != nil {
			return err
		}
		if err := ok(doc); err != nil {
			data, _ := json.Marshal(doc)
			return fmt.Errorf("%w; document %s", err, data)
		}
		return nil
	})
}

// waitValid waits until a config kind's status passes ok.
func waitValid(t *testing.T, ns, name string, obj client.Object, status func() v1beta1.ConfigStatus, ok func(*metav1.Condition, v1beta1.ConfigStatus) error) {
	t.Helper()
	eventually(t, name+" status", func() error {
		if err := get(t, ns, name, obj); err != nil {
			return err
		}
		st := status()
		return ok(meta.FindStatusCondition(st.Conditions, v1beta1.ConditionValid), st)
	})
}

// closedNaming: the document refuses everything, naming each of parts.
func closedNaming(parts ...string) func(*proxyconfig.Access) error {
	return func(doc *proxyconfig.Access) error {
		for _, p := range parts {
			if !strings.Contains(doc.Closed, p) {
				return fmt.Errorf("not closed naming %s", p)
			}
		}
		return nil
	}
}

// enforces: the document is open, with one policy and the filter.
func enforces(filter ...string) func(*proxyconfig.Access) error {
	return func(doc *proxyconfig.Access) error {
		if doc.Closed != "" || doc.Authz == nil || len(doc.Authz.Policies) != 1 || doc.Tools == nil || !slices.Equal(doc.Tools.Filter, filter) {
			return fmt.Errorf("not one policy and the filter %v", filter)
		}
		return nil
	}
}

// validIs: the config's Valid condition has status and says says; the
// status is current and lists servers.
func validIs(status metav1.ConditionStatus, says string, generation func() int64, servers ...string) func(*metav1.Condition, v1beta1.ConfigStatus) error {
	return func(c *metav1.Condition, st v1beta1.ConfigStatus) error {
		if c == nil || c.Status != status || !strings.Contains(c.Message, says) || st.ConfigHash == "" ||
			st.ObservedGeneration != generation() || !slices.Equal(st.ReferencingServers, servers) {
			return fmt.Errorf("status %+v: want Valid=%s saying %q, current, referenced by %v", st, status, says, servers)
		}
		return nil
	}
}

func readyIs(phase v1beta1.MCPServerPhase, reason, says string) func(v1beta1.MCPServerStatus) error {
	return func(st v1beta1.MCPServerStatus) error {
		c := condition(st, v1beta1.ConditionReady)
		if st.Phase != phase || c == nil || c.Reason != reason || !strings.Contains(c.Message, says) {
			return fmt.Errorf("phase %s, Ready = %+v", st.Phase, c)
		}
		return nil
	}
}

// TestAccessDocumentFollowsTheConfigs: the document is closed while a
// referenced config is missing (the server waits) or invalid (the server
// failed, naming it), and follows every edit of the configs it renders.
func TestAccessDocumentFollowsTheConfigs(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "guarded", v1beta1.MCPServerSpec{Image: "example/guarded:1", Transport: v1beta1.TransportStreamableHTTP,
		AuthzConfigRef: &v1beta1.MCPAuthzConfigReference{Name: "cedar"},
		ToolConfigRef:  &v1beta1.ToolConfigRef{Name: "curated"}})
	waitDoc(t, ns, "guarded", "closed while the configs are missing",
		closedNaming(`MCPAuthzConfig "cedar" (spec.authzConfigRef) not found`, `MCPToolConfig "curated"`))
	statusOf(t, ns, "guarded", "waiting for the configs", readyIs(v1beta1.PhasePending, v1beta1.ReasonConfigRefMissing, `MCPAuthzConfig "cedar"`))

	// No webhook in this suite: an invalid policy reaches the controller,
	// as it would while the webhook is down.
	authz := &v1beta1.MCPAuthzConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cedar"},
		Spec: v1beta1.MCPAuthzConfigSpec{Type: "cedarv1", Config: runtime.RawExtension{Raw: []byte(`{"policies":["permit(principal, acton, resource);"]}`)}}}
	tools := &v1beta1.MCPToolConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "curated"},
		Spec: v1beta1.MCPToolConfigSpec{ToolsFilter: []string{"echo"}}}
	for _, obj := range []client.Object{authz, tools} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	statusOf(t, ns, "guarded", "failed on the invalid policy",
		readyIs(v1beta1.PhaseFailed, v1beta1.ReasonConfigRefInvalid, `MCPAuthzConfig "cedar" is invalid: spec.config.policies[0]`))
	waitValid(t, ns, "cedar", authz, func() v1beta1.ConfigStatus { return authz.Status },
		validIs(metav1.ConditionFalse, "policies[0]", authz.GetGeneration, "guarded"))

	authz.Spec.Config.Raw = []byte(`{"policies":["permit(principal, action == Action::\"call_tool\", resource == Tool::\"echo\");"],"entities_json":"[]"}`)
	if err := k8s.Update(ctx, authz); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, ns, "guarded", "the document enforces the fixed policy and the filter", enforces("echo"))

	// An edit of the tool config reaches the document: the proxy watches
	// it, so nothing restarts.
	if err := get(t, ns, "curated", tools); err != nil {
		t.Fatal(err)
	}
	tools.Spec.ToolsFilter = []string{"echo", "add"}
	if err := k8s.Update(ctx, tools); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, ns, "guarded", "the filter edit reaches the document", enforces("echo", "add"))
	waitValid(t, ns, "curated", tools, func() v1beta1.ConfigStatus { return tools.Status },
		validIs(metav1.ConditionTrue, "can enforce", tools.GetGeneration, "guarded"))
	statusOf(t, ns, "guarded", "the server's status repeats the configs' hashes", func(st v1beta1.MCPServerStatus) error {
		if err := get(t, ns, "cedar", authz); err != nil {
			return err
		}
		if err := get(t, ns, "curated", tools); err != nil {
			return err
		}
		got := []string{st.AuthzConfigHash, st.ToolConfigHash}
		if want := []string{authz.Status.ConfigHash, tools.Status.ConfigHash}; !slices.Equal(got, want) || want[0] == "" {
			return fmt.Errorf("authzConfigHash, toolConfigHash %q; the configs' hashes are %q", got, want)
		}
		return nil
	})
}

// TestOIDCCABundleFollowsItsConfigMap: the CA bundle an MCPOIDCConfig names
// is read into the document; missing, the document is closed; edited, the
// document follows, though the MCPServer never names the ConfigMap.
func TestOIDCCABundleFollowsItsConfigMap(t *testing.T) {
	ns := namespace(t)
	oidc := &v1beta1.MCPOIDCConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp"}, Spec: v1beta1.MCPOIDCConfigSpec{
		Type: v1beta1.OIDCTypeInline, Inline: &v1beta1.InlineOIDCSharedConfig{Issuer: "https://idp.example.com",
			CABundleRef: &v1beta1.CABundleSource{ConfigMapRef: &v1beta1.ConfigMapKeySelector{Name: "idp-ca"}}}}}
	if err := k8s.Create(ctx, oidc); err != nil {
		t.Fatal(err)
	}
	createServer(t, ns, "private-idp", v1beta1.MCPServerSpec{Image: "example/s:1", Transport: v1beta1.TransportStreamableHTTP,
		OIDCConfigRef: &v1beta1.MCPOIDCConfigReference{Name: "idp", Audience: "s"}})
	waitDoc(t, ns, "private-idp", "closed while the CA bundle is missing", closedNaming(`ConfigMap "idp-ca" (caBundleRef of MCPOIDCConfig "idp")`))

	ca := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "idp-ca"}, Data: map[string]string{"ca.crt": "one"}}
	if err := k8s.Create(ctx, ca); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, ns, "private-idp", "the bundle in the document", caBundleIs("one"))
	ca.Data["ca.crt"] = "two"
	if err := k8s.Update(ctx, ca); err != nil {
		t.Fatal(err)
	}
	waitDoc(t, ns, "private-idp", "the edited bundle in the document", caBundleIs("two"))
	statusOf(t, ns, "private-idp", "the server's status repeats the config's hash", func(st v1beta1.MCPServerStatus) error {
		if err := get(t, ns, "idp", oidc); err != nil {
			return err
		}
		if st.OIDCConfigHash == "" || st.OIDCConfigHash != oidc.Status.ConfigHash {
			return fmt.Errorf("oidcConfigHash %q, the config's hash is %q", st.OIDCConfigHash, oidc.Status.ConfigHash)
		}
		return nil
	})
}

func caBundleIs(pem string) func(*proxyconfig.Access) error {
	return func(doc *proxyconfig.Access) error {
		if doc.Closed != "" || doc.OIDC == nil || doc.OIDC.CABundle != pem {
			return fmt.Errorf("not open with CA bundle %q", pem)
		}
		return nil
	}
}
