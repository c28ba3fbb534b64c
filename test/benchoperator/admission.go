package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/controller"
)

// The MCPServer webhooks, as config/webhook names them.
const (
	mutatingWebhook   = "mmcpserver-v1beta1.kb.io"
	validatingWebhook = "vmcpserver-v1beta1.kb.io"
)

// webhook is where one of the operator's webhooks is served: its path, at
// the manager pod's IP and webhook port.
type webhook struct {
	name, url string
}

// webhooks finds the MCPServer webhooks' paths in the cluster's webhook
// configurations.
func webhooks(ctx context.Context, c client.Reader, podIP string, port int) (mutating, validating webhook, err error) {
	base := "https://" + net.JoinHostPort(podIP, strconv.Itoa(port))
	var mwcs admissionregistrationv1.MutatingWebhookConfigurationList
	var vwcs admissionregistrationv1.ValidatingWebhookConfigurationList
	if err := c.List(ctx, &mwcs); err != nil {
		return mutating, validating, err
	}
	if err := c.List(ctx, &vwcs); err != nil {
		return mutating, validating, err
	}
	for _, cfg := range mwcs.Items {
		for _, w := range cfg.Webhooks {
			if w.Name == mutatingWebhook && w.ClientConfig.Service != nil && w.ClientConfig.Service.Path != nil {
				mutating = webhook{"mutating", base + *w.ClientConfig.Service.Path}
			}
		}
	}
	for _, cfg := range vwcs.Items {
		for _, w := range cfg.Webhooks {
			if w.Name == validatingWebhook && w.ClientConfig.Service != nil && w.ClientConfig.Service.Path != nil {
				validating = webhook{"validating", base + *w.ClientConfig.Service.Path}
			}
		}
	}
	if mutating.url == "" || validating.url == "" {
		return mutating, validating, fmt.Errorf("webhooks %s and %s not found in the cluster's webhook configurations", mutatingWebhook, validatingWebhook)
	}
	return mutating, validating, nil
}

// referenced are the objects the "with references" servers name, one of
// each kind the validating webhook looks up.
func referenced(ns string) []client.Object {
	return []client.Object{
		&v1beta1.MCPToolConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench-tools"},
			Spec:       v1beta1.MCPToolConfigSpec{ToolsFilter: []string{"echo"}},
		},
		&v1beta1.MCPOIDCConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench-oidc"},
			Spec: v1beta1.MCPOIDCConfigSpec{
				Type:                     "kubernetesServiceAccount",
				KubernetesServiceAccount: &v1beta1.KubernetesServiceAccountOIDCConfig{Issuer: "https://kubernetes.default.svc.cluster.local"},
			},
		},
	}
}

// withReferences is s naming a Secret, an MCPToolConfig and an
// MCPOIDCConfig, all of which exist.
func withReferences(s *v1beta1.MCPServer) *v1beta1.MCPServer {
	s = s.DeepCopy()
	s.Spec.Secrets = []v1beta1.SecretRef{{Name: sharedSecret, Key: "token", TargetEnvName: "TOKEN"}}
	s.Spec.ToolConfigRef = &v1beta1.ToolConfigRef{Name: "bench-tools"}
	s.Spec.OIDCConfigRef = &v1beta1.MCPOIDCConfigReference{Name: "bench-oidc", Audience: "bench"}
	return s
}

// latencies are the sorted latencies of a series of requests.
type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// admissionClient posts AdmissionReviews as the API server does, over
// kept-alive TLS connections; the webhook's certificate is not verified.
func admissionClient(workers int) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the bench posts to a pod IP the certificate does not name
		MaxIdleConnsPerHost: workers,
	}}
}

// review posts n AdmissionReviews of a create of s (renamed per request,
// so each is a server that does not exist yet) to w, from workers at once,
// and returns their latencies. A review that is not allowed is an error.
func review(ctx context.Context, hc *http.Client, w webhook, s *v1beta1.MCPServer, n, workers int) (latencies, error) {
	next := make(chan int)
	var mu sync.Mutex
	var out latencies
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				d, err := reviewOnce(ctx, hc, w, s, fmt.Sprintf("probe-%05d", i))
				mu.Lock()
				out = append(out, d)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	slices.Sort(out)
	return out, firstErr
}

func reviewOnce(ctx context.Context, hc *http.Client, w webhook, s *v1beta1.MCPServer, name string) (time.Duration, error) {
	s = s.DeepCopy()
	s.Name = name
	raw, err := json.Marshal(s)
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(name),
			Kind:      metav1.GroupVersionKind{Group: v1beta1.GroupVersion.Group, Version: v1beta1.GroupVersion.Version, Kind: "MCPServer"},
			Resource:  metav1.GroupVersionResource{Group: v1beta1.GroupVersion.Group, Version: v1beta1.GroupVersion.Version, Resource: "mcpservers"},
			Name:      name,
			Namespace: s.Namespace,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s webhook: %w", w.name, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var got admissionv1.AdmissionReview
	err = json.NewDecoder(resp.Body).Decode(&got)
	d := time.Since(start)
	switch {
	case err != nil:
		return d, fmt.Errorf("%s webhook: %s: %w", w.name, resp.Status, err)
	case got.Response == nil || !got.Response.Allowed:
		return d, fmt.Errorf("%s webhook refused %s: %+v", w.name, name, got.Response)
	}
	return d, nil
}

// step is one of the validating webhook's API round trips, timed from the
// bench one at a time: what a review costs beyond its own CPU.
type step struct {
	what string
	p50  time.Duration
}

// validationSteps times, n times each, the round trips the validating
// webhook makes for s: a GET of each reference (uncached, as its Reader
// does) and a server-side dry-run apply of each generated object it checks.
func validationSteps(ctx context.Context, c client.Client, s *v1beta1.MCPServer, n int) ([]step, error) {
	d := s.DeepCopy()
	d.Default(nil)
	d.UID = "00000000-0000-0000-0000-000000000000"
	tmpl, err := d.Spec.DecodePodTemplate()
	if err != nil {
		return nil, err
	}
	var steps []step
	for _, ref := range d.References() {
		obj, err := referenceObject(ref.Kind)
		if err != nil {
			return nil, err
		}
		l, err := timed(n, func() error { return c.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: ref.Name}, obj) })
		if err != nil {
			return nil, fmt.Errorf("get %s %s: %w", ref.Kind, ref.Name, err)
		}
		steps = append(steps, step{"GET " + string(ref.Kind), l.quantile(0.5)})
	}
	for _, obj := range controller.GeneratedObjects(d, tmpl, "switchboard/proxy:dev", controller.NetworkPolicyOptions{}) {
		kind := fmt.Sprintf("%T", obj)
		if kind == "*v1.Role" || kind == "*v1.RoleBinding" {
			continue // the webhook does not dry-run them (dryRunnable)
		}
		l, err := timed(n, func() error { return controller.DryRunApply(ctx, c, obj) })
		if err != nil {
			return nil, fmt.Errorf("dry-run apply %s: %w", kind, err)
		}
		steps = append(steps, step{"dry-run apply " + kind[4:], l.quantile(0.5)})
	}
	return steps, nil
}

func referenceObject(kind v1beta1.ReferenceKind) (client.Object, error) {
	switch kind {
	case v1beta1.ReferenceSecret:
		return &corev1.Secret{}, nil
	case v1beta1.ReferenceConfigMap:
		return &corev1.ConfigMap{}, nil
	case v1beta1.ReferenceMCPToolConfig:
		return &v1beta1.MCPToolConfig{}, nil
	case v1beta1.ReferenceMCPOIDCConfig:
		return &v1beta1.MCPOIDCConfig{}, nil
	}
	return nil, fmt.Errorf("no bench object for references of kind %s", kind)
}

func timed(n int, f func() error) (latencies, error) {
	var out latencies
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out, nil
}
