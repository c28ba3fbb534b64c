package authz

import "testing"

func TestNonCanonicalURI(t *testing.T) {
	tests := []struct{ uri, rule string }{
		// Canonical: what normalizers leave as it is.
		{"file:///docs/a.md", ""},
		{"file:///C:/docs/a.md", ""},
		{"file://server/share/a", ""},
		{"https://example.com/a?b=c", ""},
		{"https://example.com:8443/", ""},
		{"https://u:p@example.com/", ""},
		{"https://10.0.0.1/x", ""},
		{"harness://Host/Secret", ""},
		{"db://tenant/users/42", ""},
		{"mcp://example/skill", ""},
		{"urn:isbn:0451450523", ""},
		{"secrets://tenant/%2F", ""},
		{"file:///{path}", "bytes"},

		// Each rule, with the rewrite it stands against.
		{"file:///a b", "bytes"},
		{"file:///ä", "bytes"},
		{"https://example.com/#top", "bytes"},
		{`https://example.com\a`, "bytes"},
		{"file:///%2f", "percent_encoding"},
		{"file:///%41", "percent_encoding"},
		{"file:///%2", "percent_encoding"},
		{"data", "scheme"},
		{"/etc/passwd", "scheme"},
		{"HTTPS://example.com/", "scheme"},
		{"1a://x", "scheme"},
		{"file:///docs/../secret", "dot_segment"},
		{"file:///docs/.", "dot_segment"},
		{"db://t/./x", "dot_segment"},
		{"https://@example.com/", "userinfo"},
		{"https://u:@example.com/", "userinfo"},
		{"https://a@b@example.com/", "userinfo"},
		{"https://u:p:q@example.com/", "userinfo"},
		{"file://u@host/x", "userinfo"},
		{"https://u@/", "userinfo"},
		{"https://example.com:443/", "port"},
		{"http://example.com:80/", "port"},
		{"https://example.com:0443/", "port"},
		{"https://example.com:/", "port"},
		{"https://example.com:70000/", "port"},
		{"db://:5/", "port"},
		{"https://Example.com/", "host"},
		{"https://example..com/", "host"},
		{"https://example.com./", "host"},
		{"https://-x.com/", "host"},
		{"https://xn--nxasmq6b.com/", "host"},
		{"https://127.1/", "ipv4"},
		{"https://0x7f.0.0.1/", "ipv4"},
		{"https://010.0.0.1/", "ipv4"},
		{"https://256.0.0.1/", "ipv4"},
		{"https://example.com/?q='x'", "query"},
		{"https://example.com", "special_shape"},
		{"https:///a", "special_shape"},
		{"https:a", "special_shape"},
		{"file:/a", "file"},
		{"file://localhost/a", "file"},
		{"file://host:1/a", "file"},
		{"file:////a", "file"},
		{"file://host/C:/a", "file"},
		{"file:///abc:/a", "file"},
	}
	for _, tt := range tests {
		if got := nonCanonicalURI(tt.uri); got != tt.rule {
			t.Errorf("nonCanonicalURI(%q) = %q, want %q", tt.uri, got, tt.rule)
		}
	}
}

// TestNonCanonicalURIAgreesWithToolHive holds the spellings ToolHive's
// resource URI check is documented to accept and refuse.
func TestNonCanonicalURIAgreesWithToolHive(t *testing.T) {
	accepted := []string{
		"harness://static/a%20b", "harness:/x", "harness://h", "harness://h//x", "urn:x:y", "mailto:a@b",
		"https://example.com:8443/a?b=c&d", "http://127.0.0.1/x", "file:///etc/x", "file:///a//b",
		"harness://my_svc/x", "harness://static/a%2Fb", "harness://static/caf%C3%A9", "harness://static/x?q=a%3Ab",
		"harness://xn--a/x", "harness://STATIC/x", "postgres://user@host:5432/db/t/schema", "harness://u:p@h/x",
		"http://u:p@h/x", "harness://u%40@h/x", "http://u!$&'()*+,@h/x",
	}
	refused := []string{
		`harness://static/a"b`, "harness://static/a<b", "harness://static/a^b", "harness://static/a|b",
		"harness://static/a[b", "Harness://static/secret", "::", "1abc:x", "?x", "harness://static/..",
		"harness:/.//x", "harness://static/%7e", "harness://static/%2E/x", "harness://static/%zz", "harness://static/%",
		"harness://u%3a@h/x", "harness://:@h/x", "harness://u;x@h/x", "harness://u=x@h/x", "harness://u@v@h/x",
		"harness://u:p@q@h/x", "http://u@@h/x", "harness://static:99999/x", "harness://h:0/x", "harness://static:8a/x",
		"harness://:80/x", "harness://a-/x", "harness://[::1]/x", "http://ex%41mple.com/x", "http://256.1.1.1/",
		"http:example.com/a", "file:etc/x", "file:///x?a'b", "file://////etc/shadow", "file://h//x", "file:///C:x",
		"file:///:etc/x", "file://:8080/x", "http://xn--bcher-kva.example/x", "harness://static/secret\x00",
		" harness://static/secret", "harness://static/secret\x7f",
	}
	for _, uri := range accepted {
		if rule := nonCanonicalURI(uri); rule != "" {
			t.Errorf("nonCanonicalURI(%q) = %q, want it accepted", uri, rule)
		}
	}
	for _, uri := range refused {
		if nonCanonicalURI(uri) == "" {
			t.Errorf("nonCanonicalURI(%q) accepts it, want it refused", uri)
		}
	}
}
