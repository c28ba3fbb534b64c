package v1beta1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// BenchmarkReview is one AdmissionReview of a create through each webhook's
// HTTP handler, in process (no TLS, no network): the CPU a review costs the
// manager of its own. make bench-operator measures it on the cluster.
func BenchmarkReview(b *testing.B) {
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1beta1.AddToScheme(scheme)); err != nil {
		b.Fatal(err)
	}
	plain := server(func(s *v1beta1.MCPServerSpec) { s.Transport = "streamable-http" })
	withRefs := server(func(s *v1beta1.MCPServerSpec) {
		s.Transport = "streamable-http"
		s.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token", TargetEnvName: "GITHUB_TOKEN"}}
		s.ToolConfigRef = &v1beta1.ToolConfigRef{Name: "filters"}
		s.OIDCConfigRef = &v1beta1.MCPOIDCConfigReference{Name: "oidc", Audience: "tools"}
	})
	mutating := admission.WithDefaulter(scheme, Defaulter{})
	validating := admission.WithValidator(scheme, Validator{Reader: cluster(b, interceptor.Funcs{}), ProxyImage: "proxy:test"})
	for _, tc := range []struct {
		name string
		h    http.Handler
		s    *v1beta1.MCPServer
	}{
		{"mutating", mutating, plain},
		{"validating", validating, plain},
		{"validating with references", validating, withRefs},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body := reviewBody(b, tc.s)
			for i := 0; b.Loop(); i++ {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				tc.h.ServeHTTP(rec, req)
				var got admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Response == nil || !got.Response.Allowed {
					b.Fatalf("review %d: %s (%v)", i, rec.Body, err)
				}
			}
		})
	}
}

// reviewBody is an AdmissionReview of a create of s, as the API server posts it.
func reviewBody(tb testing.TB, s *v1beta1.MCPServer) []byte {
	tb.Helper()
	raw, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(fmt.Sprintf("review-%s", s.Name)),
			Kind:      metav1.GroupVersionKind{Group: v1beta1.GroupVersion.Group, Version: v1beta1.GroupVersion.Version, Kind: "MCPServer"},
			Resource:  metav1.GroupVersionResource{Group: v1beta1.GroupVersion.Group, Version: v1beta1.GroupVersion.Version, Resource: "mcpservers"},
			Name:      s.Name,
			Namespace: s.Namespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}
