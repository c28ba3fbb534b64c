package gate

import (
	"encoding/json"
	"net/http"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Headers of the 2026-07-28 protocol era that repeat, for intermediaries,
// what the body says.
const (
	HeaderMethod = "Mcp-Method"
	HeaderName   = "Mcp-Name"
)

// headersAgree refuses a message whose Mcp-Method / Mcp-Name headers say
// something else than its body: decisions are made on the body, and a
// gateway that routes on the headers must not be told one thing while the
// server is asked another.
func headersAgree(req *pipeline.Request) *pipeline.Refusal {
	if req.HTTP == nil {
		return nil
	}
	method, name := req.HTTP.Header.Get(HeaderMethod), req.HTTP.Header.Get(HeaderName)
	if method == "" && name == "" {
		return nil
	}
	m := req.Msg
	if m.Method == "" { // an answer the client sends: headers name its request
		return nil
	}
	if method != "" && method != m.Method {
		return disagree(HeaderMethod + " says " + quote(method) + " but the body's method is " + quote(m.Method))
	}
	if name != "" {
		var p struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		}
		_ = json.Unmarshal(m.Params, &p)
		body := p.Name
		if body == "" {
			body = p.URI
		}
		if body != name {
			return disagree(HeaderName + " says " + quote(name) + " but the body names " + quote(body))
		}
	}
	return nil
}

func disagree(detail string) *pipeline.Refusal {
	return &pipeline.Refusal{Status: http.StatusBadRequest, Err: wire.Errorf(wire.CodeInvalidRequest, "%s: send headers that match the body", detail)}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
