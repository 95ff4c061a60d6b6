package gateway_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/testenv"
)

// Draining stops new requests to an upstream at once and lets the one in
// flight finish; Drain returns then, and the upstream is gone from the set.
func TestDrain(t *testing.T) {
	h := newHold()
	a, b := newBackend(t, h.handler), newBackend(t, nil)
	g, srv := front(t, gateway.Config{Upstreams: urls(a, b)})
	inflight := make(chan string)
	go func() {
		_, body := get(t, srv.URL+"/held")
		inflight <- body
	}()
	testenv.Eventually(t, "the request held at a", 5*time.Second, func() bool { return a.inflight.Load() == 1 })

	drained := make(chan error)
	go func() { drained <- g.Drain(context.Background(), a.URL) }()
	testenv.Eventually(t, "a to be draining", 5*time.Second, func() bool { return state(g, a.URL).Draining })
	for range 6 {
		if resp, body := get(t, srv.URL+"/x"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("while draining: %s %q", resp.Status, body)
		}
	}
	if a.hits.Load() != 1 {
		t.Fatalf("a draining upstream took %d new requests", a.hits.Load()-1)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) with a request in flight", err)
	default:
	}
	close(h.release)
	if body := <-inflight; body != "held" {
		t.Fatalf("the request in flight got %q", body)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	if got := g.Upstreams(); len(got) != 1 || got[0].URL != b.URL {
		t.Fatalf("after the drain: %+v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Drain(ctx, "http://127.0.0.1:1"); err == nil {
		t.Fatal("drained an upstream that is not in the set")
	}
}

// SetUpstreams adds, keeps and removes upstreams; a kept one keeps its
// state, a removed one finishes what it has in flight.
func TestSetUpstreams(t *testing.T) {
	h := newHold()
	a, b, c := newBackend(t, h.handler), newBackend(t, nil), newBackend(t, nil)
	clk := newClock()
	g, srv := front(t, gateway.Config{Upstreams: urls(a, b), Now: clk.Now, Outlier: gateway.OutlierConfig{Consecutive: 1}})
	inflight := make(chan string)
	go func() {
		_, body := get(t, srv.URL+"/held")
		inflight <- body
	}()
	testenv.Eventually(t, "the request held at a", 5*time.Second, func() bool { return a.inflight.Load() == 1 })

	if err := g.SetUpstreams(urls(b, c)); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		get(t, srv.URL+"/x")
	}
	if a.hits.Load() != 1 || b.hits.Load() != 2 || c.hits.Load() != 2 {
		t.Fatalf("hits a=%d b=%d c=%d after a was removed", a.hits.Load(), b.hits.Load(), c.hits.Load())
	}
	close(h.release)
	if body := <-inflight; body != "held" {
		t.Fatalf("the removed upstream's request got %q", body)
	}
	if err := g.SetUpstreams([]string{"127.0.0.1:80"}); err == nil {
		t.Fatal("accepted an upstream without a scheme")
	}
	if err := g.SetUpstreams(nil); err == nil {
		t.Fatal("accepted no upstreams")
	}
}

// Requests keep flowing without an error while the set changes under them
// from several goroutines (run with -race).
func TestSetUpstreamsConcurrently(t *testing.T) {
	ups := []*backend{newBackend(t, nil), newBackend(t, nil), newBackend(t, nil), newBackend(t, nil)}
	all := urls(ups...)
	for _, policy := range []string{gateway.PolicyRoundRobin, gateway.PolicyLeastOutstanding, gateway.PolicyP2C, gateway.PolicyHash} {
		t.Run(policy, func(t *testing.T) {
			g, srv := front(t, gateway.Config{Upstreams: all, Policy: policy})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			var stop atomic.Bool
			var changers, clients sync.WaitGroup
			var failures, requests atomic.Int64
			for range 8 {
				clients.Go(func() {
					for !stop.Load() {
						requests.Add(1)
						resp, err := client.Get(srv.URL + "/x")
						if err != nil {
							failures.Add(1)
							continue
						}
						if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "ok" {
							failures.Add(1)
						}
						resp.Body.Close()
					}
				})
			}
			for i := range 2 {
				changers.Go(func() {
					for n := range 100 {
						// Some requests between changes, so that they overlap.
						seen := requests.Load()
						testenv.Poll(5*time.Second, func() bool { return requests.Load() >= seen+4 })
						// Always two of the four, different each time.
						if err := g.SetUpstreams([]string{all[(n+i)%4], all[(n+1+i)%4]}); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			changers.Wait()
			stop.Store(true)
			clients.Wait()
			t.Logf("%d requests during 200 changes", requests.Load())
			if n := failures.Load(); n != 0 {
				t.Fatalf("%d of %d requests failed while the set changed", n, requests.Load())
			}
		})
	}
}
