package proxytest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// Health is the status the proxy at base reports on /health: healthy,
// degraded or unhealthy.
func Health(t testing.TB, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var h struct{ Status string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/health of %s: %v", base, err)
	}
	return h.Status
}
