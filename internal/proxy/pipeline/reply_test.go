package pipeline

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// watching is a step that records every outcome of the requests it sees.
func watching(got *[]string) Step {
	return func(_ context.Context, r *Request) *Refusal {
		id := string(r.Msg.ID)
		r.OnDone(func(o Outcome) {
			switch {
			case o.Answer != nil && len(o.Answer.Error) > 0:
				*got = append(*got, id+" error "+string(o.Answer.Error))
			case o.Answer != nil:
				*got = append(*got, id+" answer "+string(o.Answer.Result))
			case o.Refusal != nil:
				*got = append(*got, id+" refused "+o.Refusal.Err.Message)
			case o.Forwarded:
				*got = append(*got, r.Msg.Method+" forwarded")
			default:
				*got = append(*got, id+" failed "+o.Failure)
			}
		})
		return nil
	}
}

func refusing(method string) Step {
	return func(_ context.Context, r *Request) *Refusal {
		if r.Msg.Method == method {
			return &Refusal{Status: http.StatusForbidden, Err: wire.Errorf(403, "no %s", method)}
		}
		return nil
	}
}

func msg(t *testing.T, s string) *wire.Message {
	t.Helper()
	var m wire.Message
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestARefusalIsToldToTheStepsBeforeIt(t *testing.T) {
	var got []string
	p := New(watching(&got), refusing("tools/call"), watching(&got))
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	_, _, refused, ref := p.CheckAll(r, "s", []*wire.Message{
		msg(t, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`),
		msg(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add"}}`),
	})
	if ref == nil || string(refused.ID) != "2" {
		t.Fatalf("want message 2 refused, got %v %+v", refused, ref)
	}
	// Message 1 passed both watchers; message 2 only the first.
	batch := "1 failed another message of its batch was refused"
	want := []string{"2 refused no tools/call", batch, batch}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
}

func TestAReplyRewritesThenTellsOnce(t *testing.T) {
	var got []string
	rewrite := func(_ context.Context, r *Request) *Refusal {
		r.Answer = func(json.RawMessage) json.RawMessage { return json.RawMessage(`{"tools":[]}`) }
		return nil
	}
	p := New(rewrite, watching(&got))
	ctx, x := WithExchange(context.Background())
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil).WithContext(ctx)
	replies, _, _, ref := p.CheckAll(r, "s", []*wire.Message{
		msg(t, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo"}}`),
		msg(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`),
	})
	if ref != nil {
		t.Fatalf("refused: %+v", ref)
	}
	if replies.Of(1) != nil {
		t.Errorf("a notification got a reply; nothing comes back for it")
	}
	answer := msg(t, `{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"secret"}]}}`)
	if !replies.Of(0).Answer(answer) {
		t.Errorf("Answer reported the result unchanged")
	}
	replies.FailAll("too late")
	if string(answer.Result) != `{"tools":[]}` {
		t.Errorf("result = %s, want the rewrite's", answer.Result)
	}
	want := []string{"notifications/initialized forwarded", `7 answer {"tools":[]}`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	wantX := Exchange{Method: "tools/call", Target: "echo", Caller: &Caller{Addr: r.RemoteAddr}}
	if d := cmp.Diff(wantX, *x); d != "" {
		t.Errorf("exchange (-want +got):\n%s", d)
	}
}

func TestNoStepAskingMeansNoReplies(t *testing.T) {
	p := New(Limits())
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	replies, _, _, _ := p.CheckAll(r, "", []*wire.Message{msg(t, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)})
	if replies != nil {
		t.Errorf("replies = %v, want none: the front ends then pass answers through unread", replies)
	}
}

func TestANotificationOfARefusedBatchWasNotForwarded(t *testing.T) {
	var got []string
	p := New(watching(&got), refusing("tools/call"))
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	p.CheckAll(r, "s", []*wire.Message{
		msg(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`),
		msg(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add"}}`),
	})
	want := []string{"2 refused no tools/call", " failed another message of its batch was refused"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
}
