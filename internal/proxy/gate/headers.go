package gate

import (
	"encoding/json"
	"net/http"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// headersAgree refuses a message whose Mcp-Method / Mcp-Name headers say
// something else than its body: decisions are made on the body, and a
// gateway that routes on the headers must not be told one thing while the
// server is asked another.
func headersAgree(req *pipeline.Request) *pipeline.Refusal {
	if req.HTTP == nil {
		return nil
	}
	method, name := req.HTTP.Header.Get(wire.HeaderMethod), req.HTTP.Header.Get(wire.HeaderName)
	if method == "" && name == "" {
		return nil
	}
	m := req.Msg
	if m.Method == "" { // an answer the client sends: headers name its request
		return nil
	}
	if method != "" && method != m.Method {
		return disagree(wire.HeaderMethod + " says " + quote(method) + " but the body's method is " + quote(m.Method))
	}
	if body := wire.Target(m.Params); name != "" && body != name {
		return disagree(wire.HeaderName + " says " + quote(name) + " but the body names " + quote(body))
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
