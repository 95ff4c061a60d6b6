package gateway_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
)

// Failures in a row eject an upstream for EjectFor on the gateway's clock,
// after which it takes requests again.
func TestPassiveEjection(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	tests := []struct {
		name string
		bad  func(t *testing.T) string
	}{
		{"5xx burst", func(t *testing.T) string {
			return newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }).URL
		}},
		{"connection errors", func(t *testing.T) string { return dead.URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := newBackend(t, nil)
			bad := tt.bad(t)
			clk := newClock()
			g, srv := front(t, gateway.Config{Upstreams: []string{bad, good.URL}, Now: clk.Now,
				Retry: gateway.RetryConfig{Attempts: -1}, Outlier: gateway.OutlierConfig{Consecutive: 5, EjectFor: time.Minute}})
			failures := 0
			for range 20 {
				if resp, _ := get(t, srv.URL+"/x"); resp.StatusCode >= 500 {
					failures++
				}
			}
			if failures != 5 || !state(g, bad).Ejected {
				t.Fatalf("%d failures seen by clients, state %+v; want 5 and then ejected", failures, state(g, bad))
			}
			if s := state(g, bad); s.Ejections != 1 || s.Attempts["server_error"]+s.Attempts["connection_error"] != 5 {
				t.Fatalf("counted %d ejections and attempts %v; want 1 and 5 failed", s.Ejections, s.Attempts)
			}
			clk.Advance(59 * time.Second)
			if state(g, bad).Ejected != true {
				t.Fatal("re-admitted before EjectFor")
			}
			clk.Advance(time.Second)
			before := good.hits.Load()
			failures = 0
			for range 4 {
				if resp, _ := get(t, srv.URL+"/x"); resp.StatusCode >= 500 {
					failures++
				}
			}
			if failures != 2 || good.hits.Load()-before != 2 {
				t.Fatalf("after EjectFor: %d failures, %d to the good one; want round-robin over both again", failures, good.hits.Load()-before)
			}
		})
	}
}

// Ejecting is refused when it would take more than half of the upstreams
// out: a fault shared by all of them is not fixed by sending nothing.
func TestEjectionKeepsHalf(t *testing.T) {
	fail := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }
	ups := []*backend{newBackend(t, fail), newBackend(t, fail), newBackend(t, fail), newBackend(t, fail)}
	g, srv := front(t, gateway.Config{Upstreams: urls(ups...), Now: newClock().Now, Retry: gateway.RetryConfig{Attempts: -1},
		Outlier: gateway.OutlierConfig{Consecutive: 2}})
	for range 40 {
		get(t, srv.URL+"/x")
	}
	ejected := 0
	for _, s := range g.Upstreams() {
		if s.Ejected {
			ejected++
		}
	}
	if ejected != 2 {
		t.Fatalf("%d of 4 ejected, want 2", ejected)
	}
}

// Unhealthy failed checks of /readyz in a row take an upstream out,
// Healthy passed ones bring it back; Run makes a round on each tick.
func TestActiveHealthChecks(t *testing.T) {
	a, b := newBackend(t, nil), newBackend(t, nil)
	ticks := make(chan time.Time)
	g, srv := front(t, gateway.Config{Upstreams: urls(a, b), Ticks: ticks,
		Health: gateway.HealthConfig{Unhealthy: 3, Healthy: 2}})
	a.notReady.Store(true)
	for i := 1; i <= 3; i++ {
		g.CheckHealth(t.Context())
		if healthy := state(g, a.URL).Healthy; healthy != (i < 3) {
			t.Fatalf("after %d failed checks healthy=%v; the threshold is 3", i, healthy)
		}
	}
	before := a.hits.Load()
	for range 6 {
		if resp, _ := get(t, srv.URL+"/x"); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
	}
	if a.hits.Load() != before {
		t.Fatal("an unhealthy upstream was sent requests")
	}

	a.notReady.Store(false)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }() // a round at start
	ticks <- time.Time{}               // taken once the first round has finished
	if state(g, a.URL).Healthy {
		t.Fatal("healthy after one passed check; the threshold is 2")
	}
	ticks <- time.Time{}
	if !state(g, a.URL).Healthy {
		t.Fatal("not healthy after two passed checks")
	}
	get(t, srv.URL+"/x")
	get(t, srv.URL+"/x")
	if a.hits.Load() == before {
		t.Fatal("re-admitted upstream got no requests")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// An upstream killed during a loop of GETs and keyed POSTs costs the
// clients nothing: its failed attempts are retried elsewhere, it is
// ejected, and a passed check re-admits it once it is back.
func TestKillOneOfThree(t *testing.T) {
	ups := []*backend{newBackend(t, nil), newBackend(t, nil), newBackend(t, nil)}
	victim := ups[1]
	addr := victim.Listener.Addr().String()
	ticks := make(chan time.Time)
	clk := newClock()
	g, srv := front(t, gateway.Config{Upstreams: urls(ups...), Ticks: ticks, Now: clk.Now,
		Health: gateway.HealthConfig{Healthy: 1}})
	go g.Run(t.Context())
	ticks <- time.Time{}

	request := func(i int) {
		t.Helper()
		var resp *http.Response
		var err error
		if i%2 == 0 {
			resp, err = http.Get(srv.URL + "/v1/feed")
		} else {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/posts", stringsReader("caption"))
			req.Header.Set("Idempotency-Key", `"k`+string(rune('a'+i%26))+`"`)
			resp, err = http.DefaultClient.Do(req)
		}
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
	for i := range 30 {
		request(i)
	}
	victim.CloseClientConnections()
	victim.Close()
	// Round-robin sends every third request to the victim first, and five
	// failures in a row eject it.
	const within = 3*5 + 3
	n := 0
	for ; n < within && !state(g, victim.URL).Ejected; n++ {
		request(n)
	}
	if s := state(g, victim.URL); !s.Ejected {
		t.Fatalf("killed upstream not ejected after %d requests: %+v", n, s)
	}
	t.Logf("ejected after %d requests", n)
	for i := range 30 {
		request(i)
	}

	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on the killed upstream's address again: %v", err)
	}
	back := &backend{}
	back.Server = &httptest.Server{Listener: l, Config: &http.Server{Handler: back.wrap(nil)}}
	back.Start()
	t.Cleanup(back.Close)
	ticks <- time.Time{}
	ticks <- time.Time{} // the check of the first tick is done
	if s := state(g, victim.URL); s.Ejected || !s.Healthy {
		t.Fatalf("returned upstream not re-admitted: %+v", s)
	}
	for i := range 9 {
		request(i)
	}
	if back.hits.Load() == 0 {
		t.Fatal("returned upstream got no requests")
	}
}
