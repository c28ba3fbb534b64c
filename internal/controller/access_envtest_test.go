package controller_test

import (
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// TestAccessConfigMapFollowsTheSpec: a server that references an
// MCPToolConfig gets the access ConfigMap its proxy enforces, and the
// config's hash in its status; once it references none, the ConfigMap goes.
func TestAccessConfigMapFollowsTheSpec(t *testing.T) {
	ns := namespace(t)
	tools := &v1beta1.MCPToolConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tools"},
		Spec: v1beta1.MCPToolConfigSpec{ToolsFilter: []string{"search"}}}
	if err := k8s.Create(ctx, tools); err != nil {
		t.Fatal(err)
	}
	createServer(t, ns, "osv", v1beta1.MCPServerSpec{Image: "example/osv:1", Transport: v1beta1.TransportStreamableHTTP,
		ToolConfigRef: &v1beta1.ToolConfigRef{Name: "tools"}})

	eventually(t, "the access ConfigMap", func() error {
		var cm corev1.ConfigMap
		if err := get(t, ns, "mcp-osv-access", &cm); err != nil {
			return err
		}
		if refs := cm.OwnerReferences; len(refs) != 1 || refs[0].Name != "osv" {
			return fmt.Errorf("owner references %+v", refs)
		}
		return nil
	})
	statusOf(t, ns, "osv", "the tool config's hash", func(st v1beta1.MCPServerStatus) error {
		if c := condition(st, v1beta1.ConditionConfigRefsResolved); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("ConfigRefsResolved = %+v", c)
		}
		if st.ToolConfigHash == "" {
			return errors.New("no toolConfigHash")
		}
		return nil
	})

	updateServer(t, ns, "osv", func(s *v1beta1.MCPServer) { s.Spec.ToolConfigRef = nil })
	eventually(t, "the access ConfigMap removed", func() error {
		err := get(t, ns, "mcp-osv-access", &corev1.ConfigMap{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %w)", err)
	})
}
