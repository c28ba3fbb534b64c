package cli

import "testing"

func TestBearerChallenge(t *testing.T) {
	tests := []struct {
		name                      string
		values                    []string
		wantMetadata, wantDetails string
	}{
		{"no header", nil, "", ""},
		{"the proxy's challenge to a request without a token",
			[]string{`Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp"`},
			"https://mcp.example/.well-known/oauth-protected-resource/mcp", ""},
		{"a refused token, with the reason",
			[]string{`Bearer resource_metadata="https://m/x", error="invalid_token", error_description="token is expired"`},
			"https://m/x", "token is expired"},
		{"unquoted values, any case of scheme and names",
			[]string{`bearer Resource_Metadata=https://m/x ,error=invalid_token`},
			"https://m/x", ""},
		{"an escaped quote in a quoted value",
			[]string{`Bearer error_description="the \"aud\" is wrong", resource_metadata="https://m/x"`},
			"https://m/x", `the "aud" is wrong`},
		{"the Bearer challenge among others",
			[]string{`Basic realm="r"`, `Bearer resource_metadata="https://m/x"`},
			"https://m/x", ""},
		{"the Bearer challenge after a malformed value",
			[]string{`Basic realm="r`, `Bearer resource_metadata="https://m/x"`},
			"https://m/x", ""},
		{"no Bearer challenge", []string{`Basic realm="r"`}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metadata, details := bearerChallenge(tt.values)
			if metadata != tt.wantMetadata || details != tt.wantDetails {
				t.Errorf("got (%q, %q), want (%q, %q)", metadata, details, tt.wantMetadata, tt.wantDetails)
			}
		})
	}
}
