package authz

import "strings"

// A policy compares a resource URI as an exact string, but servers built on
// the TypeScript, Python and C# SDKs look resources up by a normalized form
// (WHATWG URL serialization, or close to it). A forbid on one spelling would
// then miss the others, so, like ToolHive, a resource URI is authorized only
// in the one spelling normalization leaves unchanged: each rule below refuses
// input that some normalizer rewrites.

// nonCanonicalURI returns the name of the first canonical-form rule uri
// breaks, or "" when it has none to break.
func nonCanonicalURI(uri string) string {
	if !uriBytesOnly(uri) {
		return "bytes" // spaces, controls, non-ASCII, '#', '\', '[' ...
	}
	if !escapesCanonical(uri) {
		return "percent_encoding" // %3a becomes %3A, %41 becomes A
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !schemeCanonical(scheme) {
		return "scheme" // HTTP: becomes http:
	}
	authority, hasAuthority, path, query, hasQuery := splitURI(rest)
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return "dot_segment" // /a/../b becomes /b
		}
	}
	special := defaultPort(scheme) != "" || scheme == "file"
	if hasAuthority {
		if rule := authorityRule(scheme, authority, special); rule != "" {
			return rule
		}
	}
	if hasQuery && special && strings.Contains(query, "'") {
		return "query" // ' becomes %27 in a special URL's query
	}
	if !special {
		return ""
	}
	if scheme == "file" {
		if !fileCanonical(authority, hasAuthority, path) {
			return "file"
		}
		return ""
	}
	if authority == "" || path == "" {
		return "special_shape" // http://h becomes http://h/
	}
	return ""
}

// uriBytesOnly allows letters, digits, the unreserved and sub-delimiter
// marks, ':', '@', '/', '?' and '%'.
func uriBytesOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune("-._~!$&'()*+,;=:@/?%", rune(s[i])) {
			return false
		}
	}
	return true
}

// escapesCanonical: every escape is upper-case hex, of a byte that needs one.
func escapesCanonical(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if len(s) < i+3 || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
			return false
		}
		b := unhex(s[i+1])<<4 | unhex(s[i+2])
		if isAlnum(b) || strings.IndexByte("-._~", b) >= 0 {
			return false
		}
		s = s[i+3:]
	}
	return true
}

// schemeCanonical: a lower-case letter, then lower-case letters, digits,
// '+', '-' or '.'. It also fails for a "scheme" that holds '/' or '?',
// which is no scheme but a relative reference.
func schemeCanonical(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// splitURI splits what follows "scheme:" as RFC 3986 appendix B does.
func splitURI(rest string) (authority string, hasAuthority bool, path, query string, hasQuery bool) {
	if after, ok := strings.CutPrefix(rest, "//"); ok {
		end := strings.IndexAny(after, "/?")
		if end < 0 {
			end = len(after)
		}
		authority, hasAuthority, rest = after[:end], true, after[end:]
	}
	path, query, hasQuery = strings.Cut(rest, "?")
	return authority, hasAuthority, path, query, hasQuery
}

// authorityRule checks user information, port and host.
func authorityRule(scheme, authority string, special bool) string {
	hostPort := authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if scheme == "file" || !userinfoCanonical(authority[:at]) || at == len(authority)-1 {
			return "userinfo"
		}
		hostPort = authority[at+1:]
	}
	host := hostPort
	if colon := strings.LastIndexByte(hostPort, ':'); colon >= 0 {
		host = hostPort[:colon]
		if host == "" || !portCanonical(scheme, hostPort[colon+1:]) {
			return "port" // :080, :80 on http, an empty port
		}
	}
	if host == "" {
		return ""
	}
	return hostRule(host, special)
}

// userinfoCanonical: "user" or "user:password", both non-empty, of bytes
// that WHATWG and pydantic leave as they are.
func userinfoCanonical(userinfo string) bool {
	user, password, hasPassword := strings.Cut(userinfo, ":")
	if user == "" || hasPassword && password == "" || strings.ContainsAny(password, ":@") || strings.Contains(user, "@") {
		return false
	}
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if !isAlnum(s[i]) && strings.IndexByte("-._~!$&'()*+,%", s[i]) < 0 {
				return false
			}
		}
		return true
	}
	return plain(user) && plain(password)
}

// portCanonical: digits without a leading zero, at most 65535, not the
// scheme's default.
func portCanonical(scheme, port string) bool {
	if port == "" || len(port) > 5 || port[0] == '0' || port == defaultPort(scheme) {
		return false
	}
	n := 0
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
		n = n*10 + int(port[i]-'0')
	}
	return n <= 65535
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	case "ftp":
		return "21"
	}
	return ""
}

// hostRule: dot-separated labels of letters, digits, '_' and inner '-'
// (lower case in a special URL, whose host is lower-cased); no IDNA label
// in a special URL; and a special URL's host that ends in a number is a
// dotted-quad IPv4 address (127.1 and 0x7f.0.0.1 are rewritten).
func hostRule(host string, special bool) string {
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if !labelCanonical(l, special) || special && strings.HasPrefix(l, "xn--") {
			return "host"
		}
	}
	last := labels[len(labels)-1]
	if special && (allDigits(last) || strings.HasPrefix(last, "0x")) && !dottedQuad(labels) {
		return "ipv4"
	}
	return ""
}

func labelCanonical(l string, special bool) bool {
	if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !isAlnum(c) && c != '_' && c != '-' || special && c >= 'A' && c <= 'Z' {
			return false
		}
	}
	return true
}

func dottedQuad(labels []string) bool {
	if len(labels) != 4 {
		return false
	}
	for _, l := range labels {
		if !allDigits(l) || len(l) > 3 || len(l) > 1 && l[0] == '0' {
			return false
		}
		n := 0
		for i := 0; i < len(l); i++ {
			n = n*10 + int(l[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

// fileCanonical: file:///path or file://host/path, host neither localhost
// nor with a port; a drive letter (file:///C:/x) only without a host.
func fileCanonical(authority string, hasAuthority bool, path string) bool {
	if !hasAuthority || authority == "localhost" || strings.Contains(authority, ":") {
		return false
	}
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return false
	}
	first, _, _ := strings.Cut(path[1:], "/")
	if !strings.Contains(first, ":") {
		return true
	}
	return len(first) == 2 && isAlpha(first[0]) && first[1] == ':' && authority == ""
}

func isAlpha(c byte) bool    { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool    { return isAlpha(c) || c >= '0' && c <= '9' }
func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
