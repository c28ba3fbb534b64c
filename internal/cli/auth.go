package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// tokenHint is what to do about a 401.
const tokenHint = "pass a bearer token with --token, --token-file or " + tokenEnv

// bearerTransport is the HTTP transport under both MCP transports. It sends
// the token on every request to the server's origin (the POSTs, the GET
// streams, the DELETE that ends a session) and remembers the server's last
// 401 or 403, whose WWW-Authenticate header and body the SDK's errors leave
// out.
type bearerTransport struct {
	// origin is the scheme and host of --server: a redirect or an SSE
	// message endpoint elsewhere does not get the token.
	origin string
	token  string
	base   http.RoundTripper

	mu      sync.Mutex
	refused *refusal
}

func newBearerTransport(server *url.URL, token string) *bearerTransport {
	return &bearerTransport{origin: origin(server), token: token, base: http.DefaultTransport}
}

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	withToken := t.token != "" && origin(req.URL) == t.origin
	if withToken {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	r := &refusal{status: resp.StatusCode, withToken: withToken, message: peekRPCError(resp)}
	r.resourceMetadata, r.description = bearerChallenge(resp.Header.Values("WWW-Authenticate"))
	t.mu.Lock()
	t.refused = r
	t.mu.Unlock()
	return resp, nil
}

// explain returns err, or in its place the server's refusal when there was
// one: the SDK reports a 401 as just "Unauthorized".
func (t *bearerTransport) explain(err error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil || t.refused == nil {
		return err
	}
	r := *t.refused
	r.err = err
	return &r
}

// refusal is a 401 or 403 from the server, in words that say what to do.
type refusal struct {
	status    int
	withToken bool
	// resourceMetadata and description are the WWW-Authenticate header's
	// resource_metadata and error_description.
	resourceMetadata string
	description      string
	// message is the JSON-RPC error in the body, if the server sent one.
	message string
	// err is the SDK's error, kept for errors.Is.
	err error
}

func (r *refusal) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the server answered %d %s", r.status, http.StatusText(r.status))
	if r.status == http.StatusForbidden {
		if r.withToken {
			b.WriteString(": the token is valid but the server's policy denies this call")
		} else {
			b.WriteString(": the server's policy denies this call")
		}
		if r.message != "" {
			b.WriteString(": " + r.message)
		}
		return b.String()
	}
	if r.withToken {
		b.WriteString(": it refused the bearer token")
	} else {
		b.WriteString(": it needs a bearer token")
	}
	if r.description != "" {
		b.WriteString(" (" + r.description + ")")
	}
	if r.resourceMetadata != "" {
		b.WriteString("; resource_metadata: " + r.resourceMetadata)
	}
	b.WriteString("; " + tokenHint)
	return b.String()
}

func (r *refusal) Unwrap() error { return r.err }

// maxErrorBody bounds how much of a refusal's body is read for its message.
const maxErrorBody = 64 << 10

// peekRPCError returns the message of the JSON-RPC error in resp's body, and
// leaves the body as it was for the SDK to read.
func peekRPCError(resp *http.Response) string {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	var msg struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(head, &msg) != nil || msg.Error == nil {
		return ""
	}
	return msg.Error.Message
}

// bearerChallenge returns the resource_metadata (RFC 9728 §5.1) and
// error_description (RFC 6750 §3) of the Bearer challenge among a
// WWW-Authenticate header's values.
func bearerChallenge(values []string) (resourceMetadata, description string) {
	for _, v := range values {
		// One value at a time, so that a malformed one hides no other.
		challenges, err := oauthex.ParseWWWAuthenticate([]string{v})
		if err != nil {
			continue
		}
		for _, c := range challenges {
			if c.Scheme == "bearer" {
				return c.Params["resource_metadata"], c.Params["error_description"]
			}
		}
	}
	return "", ""
}
