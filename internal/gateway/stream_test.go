package gateway_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/testenv"
)

// eventsBackend answers /events with an event stream held open until the
// client leaves, and anything else with "ok".
func eventsBackend(t *testing.T) *backend {
	return newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			io.WriteString(w, "ok")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
}

var streamRoutes = []gateway.Route{{Prefix: "/events", Stream: true}}

// openStream opens /events through srv and reads its first event; the
// stream stays open until the test ends, the returned body is closed, or
// 10 s have passed (a stream that should have ended fails the test then).
func openStream(t *testing.T, srv string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode == 200 {
		first := make([]byte, len("data: one\n\n"))
		if _, err := io.ReadFull(resp.Body, first); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Open streams are counted apart from requests: however many are held,
// ordinary requests keep the whole bulkhead, and streams beyond their own
// limit are refused.
func TestStreamsDoNotTakeTheBulkhead(t *testing.T) {
	up := eventsBackend(t)
	g, srv := front(t, gateway.Config{Upstreams: urls(up), Routes: streamRoutes, MaxInFlight: 2, MaxStreams: 5})
	for i := range 5 {
		if resp, err := openStream(t, srv.URL); err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream %d: %v %v", i, resp, err)
		}
	}
	if s := state(g, up.URL); s.Streams != 5 || s.InFlight != 0 {
		t.Fatalf("5 streams open: %+v", s)
	}
	for range 3 {
		if resp, body := get(t, srv.URL+"/x"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("a request with 5 streams open and a bulkhead of 2: %d %q", resp.StatusCode, body)
		}
	}
	if resp, err := openStream(t, srv.URL); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a sixth stream over a limit of 5: %v %v", resp, err)
	}
}

// A stream settles with the breaker when its headers come: a half-open
// breaker's one probe is not held for as long as the stream stays open.
func TestStreamProbeClosesTheBreaker(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	up := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.URL.Path == "/events" {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "ok")
	})
	g, srv := front(t, gateway.Config{Upstreams: urls(up), Routes: streamRoutes,
		Outlier: gateway.OutlierConfig{Consecutive: -1}, Retry: gateway.RetryConfig{Attempts: -1},
		Breaker: gateway.BreakerConfig{MinRequests: 2, OpenFor: 50 * time.Millisecond}})
	for state(g, up.URL).Breaker != "open" {
		get(t, srv.URL+"/x")
	}
	failing.Store(false)
	testenv.Eventually(t, "a stream to be let through as the half-open probe", 10*time.Second, func() bool {
		resp, err := openStream(t, srv.URL)
		return err == nil && resp.StatusCode == 200
	})
	if s := state(g, up.URL); s.Breaker != "closed" || s.Streams != 1 {
		t.Fatalf("with the probing stream open: %+v", s)
	}
	if resp, body := get(t, srv.URL+"/x"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("a request after the probe: %d %q", resp.StatusCode, body)
	}
}

// A drained upstream's streams are cut cleanly (their clients reconnect
// elsewhere and replay what they missed) rather than holding the drain
// open for as long as a browser tab stays open.
func TestDrainCutsStreams(t *testing.T) {
	old, next := eventsBackend(t), eventsBackend(t)
	g, srv := front(t, gateway.Config{Upstreams: urls(old), Routes: streamRoutes})
	resp, err := openStream(t, srv.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	if err := g.SetUpstreams(urls(next)); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("the stream on the drained upstream did not end cleanly: %q, %v", rest, err)
	}
	if resp, err := openStream(t, srv.URL); err != nil || resp.StatusCode != 200 || next.hits.Load() != 1 {
		t.Fatalf("reconnecting: %v %v, %d on the new upstream", resp, err, next.hits.Load())
	}
}
