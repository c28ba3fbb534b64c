// Package gate applies the access document (proxyconfig.Access) on the
// proxy's request path: it authenticates each HTTP request (authn), judges
// each message with Cedar (authz), maps renamed tools back to the server's
// names and filters list answers (curation). The document can change at
// any time (its ConfigMap is watched): each request sees one consistent
// snapshot of the rules, swapped atomically, never a lock.
package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/switchboard-mcp/switchboard/internal/proxy/authn"
	"github.com/switchboard-mcp/switchboard/internal/proxy/authz"
	"github.com/switchboard-mcp/switchboard/internal/proxy/curation"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// CodeDenied is the JSON-RPC error code of a request the policy denies:
// ToolHive's (403, as the HTTP status), so its users' clients read it alike.
const CodeDenied = 403

// Gate holds the current rules.
type Gate struct {
	server string
	authn  authn.Options
	log    *slog.Logger

	rules  atomic.Pointer[rules]
	loaded atomic.Bool // a document (or its absence) has been seen once
	// annotations are the tools' annotations as the server last listed
	// them, by the server's name: Cedar policies may test them.
	annotations sync.Map // string → *proxyconfig.ToolAnnotations
}

// rules is one snapshot of the access document, ready to enforce.
type rules struct {
	closed string // why every request is refused; "" when open
	authn  *authn.Authenticator
	policy *authz.Policy
	tools  *curation.Curator
}

// New is a gate for server with no rules loaded yet: it refuses every
// request (503) until Load succeeds once.
func New(server string, o authn.Options, log *slog.Logger) *Gate {
	if log == nil {
		log = slog.Default()
	}
	g := &Gate{server: server, authn: o, log: log}
	g.rules.Store(&rules{closed: "the proxy has not loaded its access rules yet; retry shortly"})
	return g
}

// Load replaces the rules with those of data, an access document. A
// document that cannot be enforced closes the gate: a protection is never
// dropped because its configuration broke.
func (g *Gate) Load(ctx context.Context, data []byte) {
	next := g.build(ctx, data)
	if next.closed != "" {
		g.log.Error("access rules closed: every MCP request is refused", "reason", next.closed)
	} else {
		g.log.Info("access rules loaded", "authentication", next.authn != nil, "authorization", next.policy != nil, "toolCuration", next.tools != nil)
	}
	g.swap(next)
}

// Close refuses every request from now on, saying why.
func (g *Gate) Close(reason string) {
	g.log.Error("access rules closed: every MCP request is refused", "reason", reason)
	g.swap(&rules{closed: reason})
}

func (g *Gate) swap(next *rules) {
	g.loaded.Store(true)
	if prev := g.rules.Swap(next); prev != nil && prev.authn != nil {
		prev.authn.Close()
	}
	g.annotations.Clear()
}

func (g *Gate) build(ctx context.Context, data []byte) *rules {
	doc, err := proxyconfig.ParseAccess(data)
	if err != nil {
		return &rules{closed: "the access document is invalid: " + err.Error()}
	}
	if doc.Closed != "" {
		return &rules{closed: doc.Closed}
	}
	r := &rules{}
	if doc.OIDC != nil {
		if r.authn, err = authn.New(ctx, doc.OIDC, g.authn); err != nil {
			return &rules{closed: "authentication cannot be set up: " + err.Error()}
		}
	}
	if doc.Authz != nil {
		if r.policy, err = authz.Compile(doc.Authz, g.server); err != nil {
			r.close()
			return &rules{closed: "the authorization policies are invalid: " + err.Error()}
		}
	}
	if doc.Tools != nil {
		if r.tools, err = curation.New(doc.Tools); err != nil {
			r.close()
			return &rules{closed: "the tool configuration is invalid: " + err.Error()}
		}
	}
	return r
}

func (r *rules) close() {
	if r.authn != nil {
		r.authn.Close()
	}
}

// State is what /health says about the rules: "enforced", or why the gate
// is closed; loaded is false until the first document was read.
func (g *Gate) State() (state string, loaded bool) {
	if r := g.rules.Load(); r.closed != "" {
		return "closed: " + r.closed, g.loaded.Load()
	}
	return "enforced", true
}

type rulesKey struct{}

// Handler authenticates each request to next under the current rules and
// hands the rules on to the request path, so that one request is judged
// by one snapshot.
func (g *Gate) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := g.rules.Load()
		if r.closed != "" {
			w.Header().Set("Retry-After", "5")
			wire.WriteRPCError(w, http.StatusServiceUnavailable, wire.CodeServerError, "this MCP server is closed: "+r.closed)
			return
		}
		ctx := context.WithValue(req.Context(), rulesKey{}, r)
		if r.authn != nil {
			id, err := r.authn.Authenticate(req)
			if err != nil {
				r.authn.Challenge(w, req, err)
				return
			}
			caller := &pipeline.Caller{Addr: req.RemoteAddr, Subject: id.Subject, Claims: id.Claims}
			ctx = pipeline.WithCaller(ctx, caller)
			if x := pipeline.ExchangeOf(req); x != nil {
				x.Caller = caller // for the HTTP middleware outside (audit of streams)
			}
		}
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// Metadata serves the protected-resource metadata (RFC 9728) of the current
// rules; 404 when the server authenticates no one.
func (g *Gate) Metadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := g.rules.Load()
		if r.authn == nil {
			wire.HTTPError(w, http.StatusNotFound, "this MCP server does not authenticate its clients")
			return
		}
		r.authn.Metadata().ServeHTTP(w, req)
	})
}

// Step judges one message: its headers must agree with its body, the
// caller must be allowed, and a renamed tool is called by its server name.
// List answers are filtered on their way back.
func (g *Gate) Step() pipeline.Step {
	return func(ctx context.Context, req *pipeline.Request) *pipeline.Refusal {
		r, ok := ctx.Value(rulesKey{}).(*rules)
		if !ok {
			r = g.rules.Load()
		}
		if ref := headersAgree(req); ref != nil {
			return ref
		}
		if !req.Msg.IsRequest() {
			return nil
		}
		// As in ToolHive, policies name tools by the server's names: a
		// call is mapped back to the server's name first, and a list is
		// filtered by the policy before it is renamed.
		if req.Msg.Method == "tools/call" && r.tools != nil {
			if ref := callByServerName(r.tools, req); ref != nil {
				return ref
			}
		}
		m := req.Msg
		if r.policy != nil && !r.policy.Check(req.Caller, m, g.annotation) {
			return &pipeline.Refusal{Status: http.StatusForbidden, Err: wire.Errorf(CodeDenied, "denied by policy: %s", target(m))}
		}
		switch m.Method {
		case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
			if r.tools != nil || r.policy != nil {
				req.Answer = g.filter(r, req.Caller, m.Method)
			}
		}
		return nil
	}
}

// filter is the rewrite of a list answer: only what the caller may use,
// then renamed and curated.
func (g *Gate) filter(r *rules, c *pipeline.Caller, method string) pipeline.Rewrite {
	return func(result json.RawMessage) json.RawMessage {
		out := result
		if method == "tools/list" {
			g.remember(out)
		}
		if r.policy != nil {
			filtered, err := r.policy.FilterList(c, method, out)
			if err != nil {
				g.log.Warn("list answer could not be filtered; the client gets an empty list", "method", method, "error", err)
				return emptyList(method)
			}
			out = filtered
		}
		if method == "tools/list" && r.tools != nil {
			listed, err := r.tools.List(out)
			if err != nil {
				g.log.Warn("tools/list answer could not be curated; the client gets no tools", "error", err)
				return emptyList(method)
			}
			out = listed
		}
		return out
	}
}

// remember keeps the tools' annotations for the policies that test them.
func (g *Gate) remember(result json.RawMessage) {
	anns, err := authz.ToolAnnotations(result)
	if err != nil {
		return
	}
	for name, a := range anns {
		g.annotations.Store(name, a)
	}
}

func (g *Gate) annotation(tool string) *proxyconfig.ToolAnnotations {
	if a, ok := g.annotations.Load(tool); ok {
		return a.(*proxyconfig.ToolAnnotations)
	}
	return nil
}

func emptyList(method string) json.RawMessage {
	key := strings.TrimSuffix(method, "/list")
	switch method {
	case "resources/templates/list":
		key = "resourceTemplates"
	}
	return json.RawMessage(fmt.Sprintf(`{%q:[]}`, key))
}

// callByServerName rewrites a tools/call of a visible (possibly renamed)
// tool to the server's own name; a filtered tool, or a renamed tool's old
// name, is unknown.
func callByServerName(c *curation.Curator, req *pipeline.Request) *pipeline.Refusal {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(req.Msg.Params, &p); err != nil {
		return &pipeline.Refusal{Status: http.StatusBadRequest, Err: wire.Errorf(wire.CodeInvalidParams, "tools/call params must be an object with a name")}
	}
	var name string
	if err := json.Unmarshal(p["name"], &name); err != nil || name == "" {
		return &pipeline.Refusal{Status: http.StatusBadRequest, Err: wire.Errorf(wire.CodeInvalidParams, "tools/call needs params.name, the tool to call")}
	}
	server, ok := c.Call(name)
	if !ok {
		return &pipeline.Refusal{Status: http.StatusOK, Err: wire.Errorf(wire.CodeInvalidParams, "unknown tool %q: call tools/list for the tools this server offers", name)}
	}
	if server == name {
		return nil
	}
	p["name"], _ = json.Marshal(server)
	params, err := json.Marshal(p)
	if err != nil {
		return &pipeline.Refusal{Status: http.StatusBadRequest, Err: wire.Errorf(wire.CodeInvalidParams, "tools/call params: %v", err)}
	}
	out := *req.Msg
	out.Params = params
	req.Msg, req.Changed = &out, true
	return nil
}

// target names what a request was about, for a denial: never the policy.
func target(m *wire.Message) string {
	if name := wire.Target(m.Params); name != "" {
		return fmt.Sprintf("%s %q is not allowed for this caller", m.Method, name)
	}
	return m.Method + " is not allowed for this caller"
}

// VisibleTools counts the tools of names (the server's own) that clients
// see under the current tool configuration; authorization, which depends
// on the caller, is not counted.
func (g *Gate) VisibleTools(names []string) int {
	r := g.rules.Load()
	if r.tools == nil {
		return len(names)
	}
	n := 0
	for _, name := range names {
		if _, ok := r.tools.Visible(name); ok {
			n++
		}
	}
	return n
}
