package telemetry

import (
	"context"
	"encoding/pem"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	collmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// export is what a test collector received in one request.
type export struct {
	header   http.Header
	resource map[string]string
	names    []string // span or metric names
}

func resourceOf(r *resourcepb.Resource) map[string]string {
	out := map[string]string{}
	for _, kv := range r.GetAttributes() {
		out[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	return out
}

// httpsCollector is an OTLP/HTTP receiver at /otel on 127.0.0.1 with a
// certificate of its own, and caFile the PEM that trusts it.
func httpsCollector(t *testing.T) (endpoint, caFile string, traces, metrics <-chan export) {
	t.Helper()
	tr, mt := make(chan export, 10), make(chan export, 10)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /otel/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		var req colltrace.ExportTraceServiceRequest
		if !readProto(t, w, r, &req) {
			return
		}
		for _, rs := range req.GetResourceSpans() {
			x := export{header: r.Header.Clone(), resource: resourceOf(rs.GetResource())}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					x.names = append(x.names, s.GetName())
				}
			}
			tr <- x
		}
		writeProto(w, &colltrace.ExportTraceServiceResponse{})
	})
	mux.HandleFunc("POST /otel/v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		var req collmetrics.ExportMetricsServiceRequest
		if !readProto(t, w, r, &req) {
			return
		}
		for _, rm := range req.GetResourceMetrics() {
			x := export{header: r.Header.Clone(), resource: resourceOf(rm.GetResource())}
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					x.names = append(x.names, m.GetName())
				}
			}
			mt <- x
		}
		writeProto(w, &collmetrics.ExportMetricsServiceResponse{})
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the untrusting client's handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(srv.URL, "https://") + "/otel", caFile, tr, mt
}

func readProto(t *testing.T, w http.ResponseWriter, r *http.Request, m proto.Message) bool {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = proto.Unmarshal(body, m)
	}
	if err != nil {
		t.Errorf("collector: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeProto(w http.ResponseWriter, m proto.Message) {
	b, _ := proto.Marshal(m)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func receive(t *testing.T, c <-chan export) export {
	t.Helper()
	select {
	case x := <-c:
		return x
	case <-time.After(5 * time.Second):
		t.Fatal("the collector received nothing")
		return export{}
	}
}

func TestSpansReachAnOTLPHTTPCollectorTrustedThroughTheCABundleWithTheirHeaders(t *testing.T) {
	endpoint, caFile, traces, _ := httpsCollector(t)
	t.Setenv("OTEL_TEST_TOKEN", "Bearer s3cret")
	cfg := proxyconfig.Telemetry{Endpoint: endpoint, Tracing: true, SamplingRate: 1, CABundleFile: caFile,
		Headers:            map[string]string{"X-Tenant": "acme"},
		SecretHeaders:      map[string]string{"Authorization": "OTEL_TEST_TOKEN"},
		ResourceAttributes: map[string]string{"deployment.environment.name": "test"}}
	tel, err := New(context.Background(), cfg, "github", proxyconfig.TransportStdio, prometheus.NewRegistry(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "tools/call add")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	x := receive(t, traces)
	if diff := cmp.Diff([]string{"tools/call add"}, x.names); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if x.header.Get("Authorization") != "Bearer s3cret" || x.header.Get("X-Tenant") != "acme" {
		t.Errorf("headers %v, want Authorization from the environment and X-Tenant", x.header)
	}
	if x.resource["service.name"] != "thv-github" || x.resource["deployment.environment.name"] != "test" {
		t.Errorf("resource %v, want service.name thv-github and the configured attribute", x.resource)
	}
}

func TestWithoutTheCABundleTheCollectorsCertificateIsNotTrusted(t *testing.T) {
	endpoint, _, traces, _ := httpsCollector(t)
	cfg := proxyconfig.Telemetry{Endpoint: endpoint, Tracing: true, SamplingRate: 1}
	var log strings.Builder
	tel, err := New(context.Background(), cfg, "github", proxyconfig.TransportStdio, prometheus.NewRegistry(),
		slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "tools/call add")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = tel.Shutdown(ctx)
	if !strings.Contains(log.String(), "telemetry export failed") || !strings.Contains(log.String(), "certificate signed by unknown authority") {
		t.Errorf("the proxy's log does not say the export failed on the certificate:\n%s", log.String())
	}
	select {
	case x := <-traces:
		t.Errorf("the collector received %v from a client that should not trust it", x.names)
	default:
	}
}

func TestMetricsReachTheCollectorWhenAsked(t *testing.T) {
	endpoint, caFile, _, metrics := httpsCollector(t)
	cfg := proxyconfig.Telemetry{Endpoint: "https://" + endpoint, Metrics: true, CABundleFile: caFile, ServiceName: "proxy"}
	tel, err := New(context.Background(), cfg, "github", proxyconfig.TransportStdio, prometheus.NewRegistry(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	counter, _ := tel.MeterProvider().Meter("test").Int64Counter("toolhive_mcp_requests")
	counter.Add(context.Background(), 1)
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	x := receive(t, metrics)
	if diff := cmp.Diff([]string{"toolhive_mcp_requests"}, x.names); diff != "" || x.resource["service.name"] != "proxy" {
		t.Errorf("metrics (-want +got):\n%s\nresource %v", diff, x.resource)
	}
}

// grpcCollector is an OTLP/gRPC trace receiver on 127.0.0.1, in plain text.
type grpcCollector struct {
	colltrace.UnimplementedTraceServiceServer
	got chan export
}

func (c *grpcCollector) Export(ctx context.Context, req *colltrace.ExportTraceServiceRequest) (*colltrace.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	header := http.Header{}
	for k, vs := range md {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	for _, rs := range req.GetResourceSpans() {
		x := export{header: header, resource: resourceOf(rs.GetResource())}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				x.names = append(x.names, s.GetName())
			}
		}
		c.got <- x
	}
	return &colltrace.ExportTraceServiceResponse{}, nil
}

func TestSpansReachAnOTLPGRPCCollector(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &grpcCollector{got: make(chan export, 10)}
	srv := grpc.NewServer()
	colltrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	cfg := proxyconfig.Telemetry{Endpoint: lis.Addr().String(), Protocol: proxyconfig.OTLPGRPC, Insecure: true,
		Tracing: true, SamplingRate: 1, Headers: map[string]string{"x-tenant": "acme"}}
	tel, err := New(context.Background(), cfg, "github", proxyconfig.TransportStreamableHTTP, prometheus.NewRegistry(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "tools/call echo")
	span.End()
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	x := receive(t, col.got)
	if diff := cmp.Diff([]string{"tools/call echo"}, x.names); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	if got := x.header.Values("X-Tenant"); len(got) != 1 || got[0] != "acme" {
		t.Errorf("metadata x-tenant %q, want acme", got)
	}
}
