package oidcprovider_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/test/oidcprovider"
)

func TestParseClients(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    []oidcprovider.Client
		wantErr string
	}{{
		name: "every field is read, the lifetime as a Go duration",
		json: `[{"id": "bob", "secret": "s", "groups": ["eng"], "audience": "switchboard", "tokenType": "opaque", "lifetime": "2s"}]`,
		want: []oidcprovider.Client{{ID: "bob", Secret: "s", Groups: []string{"eng"}, Audience: "switchboard", TokenType: oidcprovider.Opaque, Lifetime: 2 * time.Second}},
	}, {
		name: "what is left out stays empty for Start to default",
		json: `[{"id": "alice", "secret": "s"}]`,
		want: []oidcprovider.Client{{ID: "alice", Secret: "s"}},
	}, {
		name:    "a misspelt field is refused",
		json:    `[{"id": "alice", "secret": "s", "group": ["eng"]}]`,
		wantErr: `unknown field "group"`,
	}, {
		name:    "a lifetime that is no duration is refused",
		json:    `[{"id": "alice", "secret": "s", "lifetime": "soon"}]`,
		wantErr: "lifetime",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oidcprovider.ParseClients([]byte(tt.json))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("clients (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStartRefusesClientsItCannotServe(t *testing.T) {
	tests := []struct {
		name    string
		clients []oidcprovider.Client
		wantErr string
	}{
		{"a client without a secret", []oidcprovider.Client{{ID: "a"}}, "no secret"},
		{"an id with a colon, which opaque tokens cannot carry", []oidcprovider.Client{{ID: "a:b", Secret: "s"}}, "':'"},
		{"the same id twice", []oidcprovider.Client{{ID: "a", Secret: "s"}, {ID: "a", Secret: "t"}}, "twice"},
		{"an unknown token type", []oidcprovider.Client{{ID: "a", Secret: "s", TokenType: "saml"}}, `"saml"`},
		{"a negative lifetime", []oidcprovider.Client{{ID: "a", Secret: "s", Lifetime: -time.Second}}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := oidcprovider.Start(t.Context(), oidcprovider.Options{Clients: tt.clients})
			if err == nil {
				_ = p.Close()
				t.Fatal("Start accepted the clients")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestStartRefusesAnIssuerWithAPath(t *testing.T) {
	p, err := oidcprovider.Start(t.Context(), oidcprovider.Options{Issuer: "http://127.0.0.1/realm"})
	if err == nil {
		_ = p.Close()
		t.Fatal("Start accepted an issuer with a path")
	}
}
