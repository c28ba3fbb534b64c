package authz

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// compile compiles policies for the server "github", or fails the test.
func compile(t testing.TB, cfg proxyconfig.Authz) *Policy {
	t.Helper()
	p, err := Compile(&cfg, "github")
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

// policies is a config of just these policies.
func policies(ps ...string) proxyconfig.Authz { return proxyconfig.Authz{Policies: ps} }

// caller is an authenticated caller whose token carries claims (JSON, as a
// verifier decodes it: numbers are float64).
func caller(t testing.TB, claims string) *pipeline.Caller {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(claims), &m); err != nil {
		t.Fatalf("claims %s: %v", claims, err)
	}
	sub, _ := m["sub"].(string)
	return &pipeline.Caller{Addr: "10.0.0.1:5000", Subject: sub, Claims: m}
}

// request is a JSON-RPC request of method with params (JSON, "" for none).
func request(method, params string) *wire.Message {
	m := &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`1`), Method: method}
	if params != "" {
		m.Params = json.RawMessage(params)
	}
	return m
}

func ptr[T any](v T) *T { return &v }
