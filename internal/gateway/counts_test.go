package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
)

// The counts behind the metrics: each attempt by how it ended, on its own
// upstream, and a retry on the upstream it left.
func TestUpstreamCounts(t *testing.T) {
	failing := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	good := newBackend(t, nil)
	g, srv := front(t, gateway.Config{Upstreams: urls(failing, good), Policy: gateway.PolicyRoundRobin,
		Retry: gateway.RetryConfig{Base: time.Millisecond}})
	for range 4 {
		if resp, body := get(t, srv.URL+"/x"); resp.StatusCode != http.StatusOK {
			t.Fatalf("got %s %s; want every request answered by the good upstream", resp.Status, body)
		}
	}
	bad, ok := state(g, failing.URL), state(g, good.URL)
	tried := failing.hits.Load()
	if tried == 0 || bad.Attempts["server_error"] != uint64(tried) || bad.Retries != uint64(tried) || bad.Attempts["ok"] != 0 {
		t.Fatalf("failing upstream: attempts %v, retries %d; want %d server errors, each retried", bad.Attempts, bad.Retries, tried)
	}
	if ok.Attempts["ok"] != 4 || ok.Retries != 0 || ok.Ejections != 0 {
		t.Fatalf("good upstream: attempts %v, retries %d, ejections %d; want 4 ok", ok.Attempts, ok.Retries, ok.Ejections)
	}
}
