package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/testenv"
)

// Which requests are retried on another upstream: the first upstream
// fails each the way the case says, the second answers with what it read.
func TestRetries(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	unavailable := func(t *testing.T) string {
		return newBackend(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // read it all: nothing is left to send again
			w.WriteHeader(http.StatusServiceUnavailable)
		}).URL
	}
	tests := []struct {
		name      string
		first     func(t *testing.T) string
		method    string
		key       string
		streamed  bool // sent with an unknown length, so not kept for replay
		wantRetry bool
	}{
		{"GET after 503", unavailable, http.MethodGet, "", false, true},
		{"GET after connection refused", func(*testing.T) string { return dead.URL }, http.MethodGet, "", false, true},
		{"POST without key after 503", unavailable, http.MethodPost, "", false, false},
		{"POST without key after connection refused", func(*testing.T) string { return dead.URL }, http.MethodPost, "", false, false},
		{"keyed POST after 503: body kept", unavailable, http.MethodPost, `"k1"`, false, true},
		{"keyed streamed POST after 503: body gone", unavailable, http.MethodPost, `"k2"`, true, false},
		{"keyed streamed POST, connection refused: body unread", func(*testing.T) string { return dead.URL }, http.MethodPost, `"k3"`, true, true},
		{"PUT after 503", unavailable, http.MethodPut, `"k4"`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			second := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				fmt.Fprintf(w, "second read %q", b)
			})
			_, srv := front(t, gateway.Config{Upstreams: []string{tt.first(t), second.URL}, Policy: gateway.PolicyRoundRobin,
				Retry: gateway.RetryConfig{Base: time.Millisecond}})
			var body io.Reader
			if tt.method != http.MethodGet {
				body = strings.NewReader("payload")
				if tt.streamed {
					body = io.MultiReader(body) // hides the length: sent chunked
				}
			}
			req, _ := http.NewRequest(tt.method, srv.URL+"/x", body)
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			retried := second.hits.Load() == 1
			if retried != tt.wantRetry {
				t.Fatalf("retried=%v, want %v (%s %s)", retried, tt.wantRetry, resp.Status, got)
			}
			if retried && (resp.StatusCode != 200 || (tt.method == http.MethodPost && string(got) != `second read "payload"`)) {
				t.Fatalf("retry answered %s %s", resp.Status, got)
			}
			if !retried && resp.StatusCode < 500 {
				t.Fatalf("not retried, yet the client got %s", resp.Status)
			}
		})
	}
}

// With every upstream failing, retries add at most the budget (10 % of
// the requests, plus the reserve of 10) to the attempts.
func TestRetryBudget(t *testing.T) {
	var attempts atomic.Int64
	fail := func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	ups := []*backend{newBackend(t, fail), newBackend(t, fail), newBackend(t, fail)}
	_, srv := front(t, gateway.Config{Upstreams: urls(ups...),
		Outlier: gateway.OutlierConfig{Consecutive: -1}, Breaker: gateway.BreakerConfig{MinRequests: 1 << 30},
		Retry: gateway.RetryConfig{Attempts: 2, Base: time.Microsecond, Max: time.Microsecond, Budget: 0.1, Reserve: 10}})
	const requests = 400
	for range requests {
		if resp, _ := get(t, srv.URL+"/x"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("got %s from failing upstreams", resp.Status)
		}
	}
	limit := int64(requests + requests/10 + 10)
	if n := attempts.Load(); n > limit || n <= requests {
		t.Fatalf("%d attempts for %d requests; want some retries and at most %d", n, requests, limit)
	} else {
		t.Logf("%d attempts for %d requests (%.1f %% extra)", n, requests, 100*float64(n-requests)/requests)
	}
}

// A slow upstream times out until its breaker opens and it is sent
// nothing; clients see none of it (GETs go to the other upstream), and a
// half-open probe closes the breaker once it is fast again.
func TestBreakerOnSlowUpstream(t *testing.T) {
	var slow atomic.Bool
	slow.Store(true)
	sluggish := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			<-r.Context().Done() // slower than any timeout: the gateway gives up first
			return
		}
		io.WriteString(w, "ok")
	})
	quick := newBackend(t, nil)
	g, srv := front(t, gateway.Config{Upstreams: urls(sluggish, quick), Timeout: 30 * time.Millisecond,
		Breaker: gateway.BreakerConfig{MinRequests: 4, FailureRatio: 0.5, OpenFor: 200 * time.Millisecond},
		Retry:   gateway.RetryConfig{Base: time.Millisecond}})
	for i := 0; state(g, sluggish.URL).Breaker != "open"; i++ {
		if i == 20 {
			t.Fatalf("breaker not open after 20 requests: %+v", state(g, sluggish.URL))
		}
		if resp, _ := get(t, srv.URL+"/x"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
	if n := sluggish.hits.Load(); n != 4 {
		t.Errorf("breaker opened after %d timeouts, want 4", n)
	}
	before := sluggish.hits.Load()
	for range 10 {
		get(t, srv.URL+"/x")
	}
	if sluggish.hits.Load() != before && state(g, sluggish.URL).Breaker == "open" {
		t.Fatal("requests reached an upstream whose breaker is open")
	}
	slow.Store(false)
	testenv.Eventually(t, "a half-open probe to close the breaker", 10*time.Second, func() bool {
		get(t, srv.URL+"/x")
		return state(g, sluggish.URL).Breaker == "closed"
	})
}

// A node refusing requests for load (Config.Shed) is busy, not broken:
// its refusals go to another node, but neither eject it nor open its
// breaker. The same 503s without the mark do both.
func TestShedAnswersAreNotFailures(t *testing.T) {
	for _, marked := range []bool{true, false} {
		t.Run(fmt.Sprintf("marked=%v", marked), func(t *testing.T) {
			busy := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				if marked {
					w.Header().Set("Overloaded", "1")
				}
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			idle := newBackend(t, nil)
			g, srv := front(t, gateway.Config{Upstreams: urls(busy, idle), Policy: gateway.PolicyRoundRobin,
				Outlier: gateway.OutlierConfig{Consecutive: 2}, Breaker: gateway.BreakerConfig{MinRequests: 2},
				Retry: gateway.RetryConfig{Base: time.Millisecond, Budget: 1, Reserve: 100},
				Shed:  func(r *http.Response) bool { return r.Header.Get("Overloaded") != "" }})
			for i := range 10 {
				if resp, body := get(t, srv.URL+"/x"); resp.StatusCode != 200 || body != "ok" {
					t.Fatalf("request %d: %d %q (the refused ones go to the idle node)", i, resp.StatusCode, body)
				}
			}
			s := state(g, busy.URL)
			if failed := s.Ejected || s.Breaker != "closed"; failed == marked {
				t.Fatalf("after its 503s (marked as shed: %v): %+v", marked, s)
			}
		})
	}
}
