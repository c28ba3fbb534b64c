package proxyconfig

import (
	"flag"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestArgsRoundTripThroughFlags(t *testing.T) {
	want := Config{
		Server: "osv", Port: 9090, Transport: "streamable-http", ProxyMode: "streamable-http",
		BackendPort: 3000, BackendSelector: "app=x", BackendService: "mcp-osv-headless",
		EndpointPrefix: "/osv", TrustProxyHeaders: true, SessionStorage: "redis",
		RedisAddress: "redis:6379", RedisDB: 2, RedisKeyPrefix: "p",
		RedisTLS: RedisTLS{Enabled: true, InsecureSkipVerify: true, CAFile: "/redis-ca/ca.crt"},
		RateLimit: &RateLimit{
			Shared: &Bucket{MaxTokens: 100, RefillPeriod: Duration(time.Minute)}, PerUser: &Bucket{MaxTokens: 10, RefillPeriod: Duration(30 * time.Second)},
			Tools: []ToolRateLimit{{Name: "echo", PerUser: &Bucket{MaxTokens: 2, RefillPeriod: Duration(time.Second)}}, {Name: "search", Shared: &Bucket{MaxTokens: 5, RefillPeriod: Duration(time.Hour)}}},
		},
		DrainTimeout: 45 * time.Second, DrainDelay: 3 * time.Second,
		BindAddress: "0.0.0.0", AllowedOrigins: []string{"https://a.example", "http://b.example:8080"},
		Limits: Limits{
			MaxBodyBytes: 1 << 10, MaxBatch: 7, MaxSessions: 9, MaxInflight: 3, SessionIdleTimeout: time.Minute, HandshakeTimeout: 8 * time.Second,
			ReadTimeout: 10 * time.Second, BackendResponseTimeout: 2 * time.Second, CallTimeout: 3 * time.Second, StdinTimeout: 4 * time.Second,
			ClientWriteTimeout: 5 * time.Second, PingInterval: 6 * time.Second, PingTimeout: 7 * time.Second,
			ProbeInterval: -time.Second,
		},
		Audit: Audit{Enabled: true, IncludeRequestData: true, MaxDataSize: 512},
		Telemetry: Telemetry{
			Endpoint: "otel-collector:4318/otel", Protocol: OTLPGRPC, Insecure: true, Tracing: true, Metrics: true, SamplingRate: 0.05,
			ServiceName: "thv-osv", Headers: map[string]string{"x-team": "a=b", "x-env": "prod"}, SecretHeaders: map[string]string{"Authorization": "OTEL_HEADER_0"},
			ResourceAttributes: map[string]string{"deployment.environment": "prod"}, CABundleFile: "/ca/ca.crt", LegacyAttributes: true,
		},
	}
	var got Config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	got.RegisterFlags(fs)
	if err := fs.Parse(want.Args()); err != nil {
		t.Fatalf("parse %v: %v", want.Args(), err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("config after round trip (-want +got):\n%s", d)
	}
}

func TestArgsLeaveOutEmptyValues(t *testing.T) {
	got := Config{Server: "a", Port: 8080}.Args()
	want := []string{"--server=a", "--port=8080"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("args (-want +got):\n%s", d)
	}
}

func TestBadNumberNamesTheFlag(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	err := fs.Parse([]string{"--port=http"})
	if err == nil || !strings.Contains(err.Error(), "--port") {
		t.Fatalf("want an error naming --port, got %v", err)
	}
}

func TestUnsetLimitsTakeTheDefaults(t *testing.T) {
	got := Limits{MaxSessions: 5, CallTimeout: time.Second}.WithDefaults()
	want := DefaultLimits
	want.MaxSessions, want.CallTimeout = 5, time.Second
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("limits (-want +got):\n%s", d)
	}
}

// An MCPServer's maxRequestBodySize of 0 promises ToolHive's default, and
// the operator then passes no --max-body-bytes: a proxy run by hand agrees.
func TestTheBodyLimitIsToolHivesDefault(t *testing.T) {
	if got := DefaultLimits.MaxBodyBytes; got != 8<<20 {
		t.Errorf("default max body bytes = %d, want 8 MiB (ToolHive's)", got)
	}
}

func TestAnnounceIsASubcommandNotAFlag(t *testing.T) {
	if d := cmp.Diff([]string{"announce", "hello there"}, AnnounceArgs("hello there")); d != "" {
		t.Errorf("announce args (-want +got):\n%s", d)
	}
}

// Guards the bind address of a proxy run by hand: it listened on every
// interface unless told, exposing a local server to the network. (The
// operator's --bind-address=0.0.0.0 is in internal/controller's tests.)
func TestAProxyRunByHandListensOnLoopbackOnly(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(c.BindAddress); ip == nil || !ip.IsLoopback() {
		t.Errorf("default --bind-address %q, want a loopback address", c.BindAddress)
	}
}

func TestNegativeLimitsAreRefusedByName(t *testing.T) {
	err := Limits{SessionIdleTimeout: -time.Second}.WithDefaults().Validate()
	if err == nil || !strings.Contains(err.Error(), "--session-idle-timeout") {
		t.Fatalf("want an error naming --session-idle-timeout, got %v", err)
	}
	if err := DefaultLimits.Validate(); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
}

func TestTelemetryValidateNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Telemetry
		want string
	}{
		{"unknown protocol", Telemetry{Endpoint: "c:4317", Tracing: true, Protocol: "thrift"}, "--otel-protocol"},
		{"sampling over one", Telemetry{Endpoint: "c:4317", Tracing: true, SamplingRate: 1.5}, "--otel-sampling-rate"},
		{"tracing without an endpoint", Telemetry{Tracing: true}, "--otel-endpoint"},
		{"insecure with a CA bundle", Telemetry{Endpoint: "c:4317", Tracing: true, Insecure: true, CABundleFile: "/ca"}, "--otel-ca-bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.t.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %s, got %v", tc.want, err)
			}
		})
	}
	if err := (Telemetry{Endpoint: "c:4318", Tracing: true, SamplingRate: 1}).Validate(); err != nil {
		t.Fatalf("a valid configuration refused: %v", err)
	}
}

func TestRedisTLSAndRateLimitRenderOnlyWhenSet(t *testing.T) {
	got := Config{Server: "a", RedisTLS: RedisTLS{Enabled: true}, RateLimit: &RateLimit{Shared: &Bucket{MaxTokens: 3, RefillPeriod: Duration(time.Minute)}}}.Args()
	want := []string{"--server=a", "--redis-tls=true", `--rate-limit={"shared":{"maxTokens":3,"refillPeriod":"1m0s"}}`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("args (-want +got):\n%s", d)
	}
}

func TestRateLimitFlagRefusesUnknownFields(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	err := fs.Parse([]string{`--rate-limit={"shared":{"maxTokens":3,"refilPeriod":"1m"}}`})
	if err == nil || !strings.Contains(err.Error(), "refilPeriod") {
		t.Fatalf("want an error naming the unknown field refilPeriod, got %v", err)
	}
}

func TestRateLimitValidateNamesTheBucket(t *testing.T) {
	minute := Duration(time.Minute)
	for _, tc := range []struct {
		name string
		r    RateLimit
		want string
	}{
		{"no tokens", RateLimit{Shared: &Bucket{MaxTokens: 0, RefillPeriod: minute}}, "shared maxTokens is 0"},
		{"no refill", RateLimit{PerUser: &Bucket{MaxTokens: 1}}, "perUser refillPeriod is 0s"},
		{"negative refill", RateLimit{Tools: []ToolRateLimit{{Name: "echo", Shared: &Bucket{MaxTokens: 1, RefillPeriod: -minute}}}}, `tool "echo" shared refillPeriod is -1m0s`},
		{"tool without a name", RateLimit{Tools: []ToolRateLimit{{PerUser: &Bucket{MaxTokens: 1, RefillPeriod: minute}}}}, "tools[0] has no name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--rate-limit") {
				t.Fatalf("want an error naming --rate-limit and %q, got %v", tc.want, err)
			}
		})
	}
	ok := RateLimit{Shared: &Bucket{MaxTokens: 1, RefillPeriod: minute}, Tools: []ToolRateLimit{{Name: "echo", PerUser: &Bucket{MaxTokens: 2, RefillPeriod: minute}}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid configuration refused: %v", err)
	}
}
