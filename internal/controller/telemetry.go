package controller

import (
	"bytes"
	"context"
	"fmt"
	"hash"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
)

// resolveTelemetry renders the MCPTelemetryConfig the server references,
// with the Secrets and CA bundle it reads. Telemetry is not a protection:
// while any of it is missing or invalid the proxy runs without exporting,
// where ToolHive's operator fails the whole server, and the condition says
// why.
// The values the proxy reads go into its rolling hash.
func (r refResolver) resolveTelemetry(ctx context.Context, s *v1beta1.MCPServer, out *resolvedRefs, hashOf func(v1beta1.Consumer) hash.Hash) error {
	ref := s.Spec.TelemetryConfigRef
	if ref == nil {
		return nil
	}
	var c v1beta1.MCPTelemetryConfig
	err := r.configs.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Name}, &c)
	switch {
	case apierrors.IsNotFound(err):
		out.telemetryReason = v1beta1.ReasonTelemetryConfigRefNotFound
		out.telemetryMessage = fmt.Sprintf("MCPTelemetryConfig %q (spec.telemetryConfigRef) not found in the MCPServer's namespace; "+
			"the server runs, but exports no telemetry until it exists", ref.Name)
		return nil
	case err != nil:
		return fmt.Errorf("get MCPTelemetryConfig %s: %w", ref.Name, err)
	}
	out.telemetryHash = specHash(c.Spec)
	x, err := access.Telemetry(&c.Spec, ref)
	if err != nil {
		out.telemetryReason = v1beta1.ReasonTelemetryConfigRefInvalid
		out.telemetryMessage = fmt.Sprintf("MCPTelemetryConfig %q is invalid: %v; the server runs, but exports no telemetry until it is fixed", ref.Name, err)
		return nil
	}
	if !x.Config.Enabled() {
		out.telemetryReason = v1beta1.ReasonTelemetryConfigRefValid
		out.telemetryMessage = fmt.Sprintf("MCPTelemetryConfig %q turns no export on (openTelemetry is not enabled, or has no endpoint): "+
			"the proxy exports no telemetry", ref.Name)
		return nil
	}
	// What the config reads, hashed apart so that nothing is folded into
	// the proxy's hash unless all of it is there.
	var values bytes.Buffer
	var missing []string
	for _, dep := range c.References() {
		v, what, err := r.keyValue(ctx, s.Namespace, dep)
		if err != nil {
			return err
		}
		if what != "" {
			missing = append(missing, fmt.Sprintf("%s (%s of MCPTelemetryConfig %q)", what, dep.Path, ref.Name))
			continue
		}
		for _, b := range [][]byte{[]byte(dep.Kind), {0}, []byte(dep.Name), {0}, []byte(dep.Key), {0}, v, {0}} {
			values.Write(b)
		}
	}
	if len(missing) > 0 {
		out.telemetryReason = v1beta1.ReasonTelemetryConfigRefNotFound
		out.telemetryMessage = fmt.Sprintf("waiting for %s in the MCPServer's namespace; the server runs, but exports no telemetry until it exists",
			strings.Join(missing, ", "))
		return nil
	}
	_, _ = hashOf(v1beta1.ConsumerProxy).Write(values.Bytes())
	out.telemetry = &x
	out.telemetryReason = v1beta1.ReasonTelemetryConfigRefValid
	out.telemetryMessage = fmt.Sprintf("MCPTelemetryConfig %q: the proxy exports %s to %s", ref.Name, signals(x.Config.Tracing, x.Config.Metrics), x.Config.Endpoint)
	return nil
}

func signals(tracing, metrics bool) string {
	switch {
	case tracing && metrics:
		return "traces and metrics"
	case tracing:
		return "traces"
	}
	return "metrics"
}
