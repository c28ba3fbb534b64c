package pipeline

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// MaxProgressToken bounds a progress token: the proxy keeps it for as long
// as the call runs, so its size must not be the client's to choose.
const MaxProgressToken = 256

// Limits refuses what would make the proxy hold client-sized state: a
// progress token over MaxProgressToken bytes.
func Limits() Step {
	return func(_ context.Context, r *Request) *Refusal {
		if !r.Msg.IsRequest() || len(r.Msg.Params) < MaxProgressToken {
			return nil
		}
		var p struct {
			Meta struct {
				ProgressToken json.RawMessage `json:"progressToken"`
			} `json:"_meta"`
		}
		if json.Unmarshal(r.Msg.Params, &p) == nil && len(p.Meta.ProgressToken) > MaxProgressToken {
			return &Refusal{Status: http.StatusBadRequest, Err: wire.Errorf(wire.CodeInvalidParams,
				"params._meta.progressToken is %d bytes; the most this proxy keeps is %d: use a shorter token", len(p.Meta.ProgressToken), MaxProgressToken)}
		}
		return nil
	}
}
