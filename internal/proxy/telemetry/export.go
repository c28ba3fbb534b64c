package telemetry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// OTLP/HTTP paths of each signal, below the endpoint's base path.
const (
	tracesPath  = "/v1/traces"
	metricsPath = "/v1/metrics"
)

// collector is where and how the exporters send: the configuration with
// the endpoint taken apart, the secret headers read and the CA bundle
// loaded, so that both signals' exporters are built from the same facts.
type collector struct {
	grpc     bool
	hostPort string
	// basePath prefixes the signal's path (OTLP/HTTP only).
	basePath string
	insecure bool
	headers  map[string]string
	tls      *tls.Config
}

// newCollector checks and resolves cfg's export settings; its errors name
// the flag to fix.
func newCollector(cfg proxyconfig.Telemetry) (*collector, error) {
	c := &collector{grpc: cfg.Protocol == proxyconfig.OTLPGRPC, insecure: cfg.Insecure}
	var err error
	if err = c.parseEndpoint(cfg.Endpoint); err != nil {
		return nil, err
	}
	if cfg.CABundleFile != "" {
		if c.insecure {
			return nil, fmt.Errorf("--otel-ca-bundle=%s with a plain-text endpoint (%s): a CA bundle is for TLS", cfg.CABundleFile, cfg.Endpoint)
		}
		if c.tls, err = tlsWithCABundle(cfg.CABundleFile); err != nil {
			return nil, err
		}
	}
	if c.headers, err = exportHeaders(cfg.Headers, cfg.SecretHeaders); err != nil {
		return nil, err
	}
	return c, nil
}

// parseEndpoint accepts host:port, host:port/base/path, and http:// or
// https:// URLs, whose scheme decides between plain text and TLS.
func (c *collector) parseEndpoint(endpoint string) error {
	bad := func(why string) error { return fmt.Errorf("--otel-endpoint=%q: %s", endpoint, why) }
	if scheme, _, ok := strings.Cut(endpoint, "://"); ok {
		u, err := url.Parse(endpoint)
		if err != nil {
			return bad("not a URL: give host:port or an http:// or https:// URL")
		}
		switch scheme {
		case "http":
			c.insecure = true
		case "https":
			if c.insecure {
				return bad("an https:// endpoint with --otel-insecure: use http:// to send in plain text")
			}
		default:
			return bad("use an http:// or https:// URL, or host:port")
		}
		if u.User != nil {
			return bad("credentials in the URL are not sent: pass them with --otel-header or --otel-secret-header")
		}
		if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			return bad("a query or fragment is not sent: give scheme://host[:port][/base-path]")
		}
		if u.Host == "" {
			return bad("the URL has no host")
		}
		c.hostPort, c.basePath = u.Host, strings.TrimRight(u.Path, "/")
	} else {
		hostPort, path, _ := strings.Cut(endpoint, "/")
		if _, port, err := net.SplitHostPort(hostPort); err != nil || port == "" {
			return bad("give host:port, host:port/base-path or an http:// or https:// URL")
		}
		c.hostPort = hostPort
		if path = strings.TrimRight(path, "/"); path != "" {
			c.basePath = "/" + path
		}
	}
	if c.grpc && c.basePath != "" {
		return bad("a base path is for --otel-protocol=" + proxyconfig.OTLPHTTP + "; OTLP over gRPC takes host:port")
	}
	if strings.ContainsAny(c.basePath, "?# ") {
		return bad("the base path may not hold '?', '#' or spaces")
	}
	return nil
}

// exportHeaders merges the plain headers and the secret ones, read from
// the environment. A secret header whose variable is unset or empty is an
// error: sending without it would fail later, less clearly.
func exportHeaders(plain, secret map[string]string) (map[string]string, error) {
	if len(plain)+len(secret) == 0 {
		return nil, nil
	}
	out := maps.Clone(plain)
	if out == nil {
		out = map[string]string{}
	}
	for _, name := range slices.Sorted(maps.Keys(secret)) {
		variable := secret[name]
		value := os.Getenv(variable)
		if value == "" {
			return nil, fmt.Errorf("--otel-secret-header=%s=%s: environment variable %s is unset or empty", name, variable, variable)
		}
		out[name] = value
	}
	return out, nil
}

// tlsWithCABundle trusts the PEM file's CAs besides the system roots.
func tlsWithCABundle(file string) (*tls.Config, error) {
	pem, err := os.ReadFile(file) // #nosec G304 -- the operator mounts this file
	if err != nil {
		return nil, fmt.Errorf("--otel-ca-bundle=%s: %w", file, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--otel-ca-bundle=%s: no PEM certificate in the file", file)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func (c *collector) spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if c.grpc {
		return otlptracegrpc.New(ctx, clientOptions(c, otlptracegrpc.WithEndpoint, otlptracegrpc.WithInsecure,
			viaGRPC(otlptracegrpc.WithTLSCredentials), otlptracegrpc.WithHeaders)...)
	}
	return otlptracehttp.New(ctx, clientOptions(c, otlptracehttp.WithEndpoint, otlptracehttp.WithInsecure,
		otlptracehttp.WithTLSClientConfig, otlptracehttp.WithHeaders, otlptracehttp.WithURLPath(c.basePath+tracesPath))...)
}

func (c *collector) metricExporter(ctx context.Context) (sdkmetric.Exporter, error) {
	if c.grpc {
		return otlpmetricgrpc.New(ctx, clientOptions(c, otlpmetricgrpc.WithEndpoint, otlpmetricgrpc.WithInsecure,
			viaGRPC(otlpmetricgrpc.WithTLSCredentials), otlpmetricgrpc.WithHeaders)...)
	}
	return otlpmetrichttp.New(ctx, clientOptions(c, otlpmetrichttp.WithEndpoint, otlpmetrichttp.WithInsecure,
		otlpmetrichttp.WithTLSClientConfig, otlpmetrichttp.WithHeaders, otlpmetrichttp.WithURLPath(c.basePath+metricsPath))...)
}

// clientOptions are c's settings as options of one OTLP exporter package
// (each signal and protocol has its own option type), then more.
func clientOptions[O any](c *collector, endpoint func(string) O, insecure func() O, withTLS func(*tls.Config) O,
	headers func(map[string]string) O, more ...O) []O {
	opts := []O{endpoint(c.hostPort)}
	if c.insecure {
		opts = append(opts, insecure())
	}
	if c.tls != nil {
		opts = append(opts, withTLS(c.tls))
	}
	if c.headers != nil {
		opts = append(opts, headers(c.headers))
	}
	return append(opts, more...)
}

// viaGRPC adapts a gRPC exporter's TLS option to a *tls.Config.
func viaGRPC[O any](with func(credentials.TransportCredentials) O) func(*tls.Config) O {
	return func(cfg *tls.Config) O { return with(credentials.NewTLS(cfg)) }
}
