package proxy_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestProgressReachesOnlyTheClientThatAskedForIt(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) { progressToTheRightClient(t, era) })
	}
}

func progressToTheRightClient(t *testing.T, era string) {
	r := startProxy(t)
	var got [2]atomic.Int32
	clients := make([]*mcp.ClientSession, 2)
	for i := range clients {
		clients[i] = connect(t, r, era, &mcp.ClientOptions{
			ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
				if req.Params.ProgressToken != "same-token" {
					t.Errorf("client %d got progress for token %v", i, req.Params.ProgressToken)
				}
				got[i].Add(1)
			},
		})
	}
	var wg sync.WaitGroup
	for i, cs := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params := &mcp.CallToolParams{Name: "progress", Arguments: map[string]any{"steps": 3 + i, "delayMs": 5}}
			// Both clients pick the same token: only the proxy's rewriting
			// keeps their progress apart on the shared stdio server.
			params.SetProgressToken("same-token")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := cs.CallTool(ctx, params); err != nil {
				t.Errorf("client %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	// Progress notifications may trail the response by a moment.
	deadline := time.Now().Add(2 * time.Second)
	for (got[0].Load() != 3 || got[1].Load() != 4) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got[0].Load() != 3 || got[1].Load() != 4 {
		t.Errorf("progress notifications: client 0 got %d (want 3), client 1 got %d (want 4)", got[0].Load(), got[1].Load())
	}
}

func TestConcurrentClientsShareOneStdioServerWithoutMixingAnswers(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) { concurrentClients(t, era) })
	}
}

func concurrentClients(t *testing.T, era string) {
	r := startProxy(t)
	const clients, calls = 4, 25
	var wg sync.WaitGroup
	for c := range clients {
		cs := connect(t, r, era, nil)
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				want := fmt.Sprint(c*1000 + i)
				if got := callText(t, cs, "add", map[string]any{"a": c * 1000, "b": i}); got != want {
					t.Errorf("client %d call %d: got %s, want %s", c, i, got, want)
				}
			}()
		}
	}
	wg.Wait()
	// One stdio process served them all.
	a := callText(t, connect(t, r, era, nil), "pid", nil)
	b := callText(t, connect(t, r, era, nil), "pid", nil)
	if a != b {
		t.Errorf("two sessions reached two processes (%s, %s); a stdio server is shared", a, b)
	}
}

func TestTheBackendIsRestartedAndSessionsGoOn(t *testing.T) {
	r := startProxy(t)
	cs := connect(t, r, sessionful, nil)
	before := callText(t, cs, "pid", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "crash"})
	if err == nil {
		t.Fatal("a call whose server died got no error")
	}
	r.waitHealth(t, 200)
	var after string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "pid"})
		if err == nil && !res.IsError {
			after = res.Content[0].(*mcp.TextContent).Text
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after == "" || after == before {
		t.Fatalf("after the crash the session reached pid %q (before: %s); want a new process", after, before)
	}
}
