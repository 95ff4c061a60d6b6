package admission_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/admission"
)

// A server with a real capacity: a machine of capacity cores that every
// request in it shares, as goroutines share a node's CPUs. Alone a
// request takes serviceTime; among n > capacity each takes n/capacity
// times as long (as many as it finds when it starts), so the server never
// serves more than capacity/serviceTime a second, and whatever it takes
// on beyond that slows everything in it.
const (
	capacity    = 4
	serviceTime = 25 * time.Millisecond
)

func boundedServer() http.Handler {
	var in atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := in.Add(1)
		defer in.Add(-1)
		time.Sleep(serviceTime * time.Duration(max(n, capacity)) / capacity) // the work
		io.WriteString(w, "ok")
	})
}

type outcome struct {
	status     int
	latency    time.Duration
	retryAfter string
	ctype      string
}

func get(t *testing.T, client *http.Client, url string) outcome {
	start := time.Now()
	res, err := client.Get(url)
	if err != nil {
		t.Error(err)
		return outcome{}
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return outcome{status: res.StatusCode, latency: time.Since(start),
		retryAfter: res.Header.Get("Retry-After"), ctype: res.Header.Get("Content-Type")}
}

func p99(ls []time.Duration) time.Duration {
	slices.Sort(ls)
	return ls[(len(ls)*99)/100]
}

// unloadedP99 is the p99 latency of requests offered well below capacity
// (half of it, closed loop).
func unloadedP99(t *testing.T, client *http.Client, url string) time.Duration {
	var mu sync.Mutex
	var ls []time.Duration
	var wg sync.WaitGroup
	for range capacity / 2 {
		wg.Go(func() {
			for range 60 {
				o := get(t, client, url)
				if o.status != http.StatusOK {
					t.Errorf("unloaded: status %d", o.status)
				}
				mu.Lock()
				ls = append(ls, o.latency)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return p99(ls)
}

// offer sends requests at rate (open loop: each at its time, whatever
// the ones before are doing) for warmup+measure, and returns the
// outcomes of those sent after warmup.
func offer(t *testing.T, client *http.Client, url string, rate float64, warmup, measure time.Duration) []outcome {
	var mu sync.Mutex
	var out []outcome
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start := time.Now()
	for now := range tick.C {
		if now.Sub(start) > warmup+measure {
			break
		}
		counted := now.Sub(start) > warmup
		wg.Go(func() {
			o := get(t, client, url)
			if counted {
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// run is one measurement of the limiter at twice the capacity.
type run struct {
	base  time.Duration // the unloaded p99
	got   []outcome     // the answers to the requests sent after the warm-up
	shed  int           // as the middleware counted them
	limit int           // at the end
}

// measureLimiter starts the bounded server behind a fresh limiter,
// measures its unloaded p99, then offers it rate.
func measureLimiter(t *testing.T, client *http.Client, rate float64, warmup, measure time.Duration) run {
	// The most in flight is well above what the server can take, as an
	// operator sets --max-inflight: the limiter has to find the capacity.
	lim := admission.New(admission.Config{MaxLimit: 16 * capacity})
	var mu sync.Mutex
	var r run
	srv := httptest.NewServer(lim.Middleware(func(*http.Request) admission.Class { return admission.Critical },
		func(admission.Class) { mu.Lock(); r.shed++; mu.Unlock() }, boundedServer()))
	defer srv.Close()
	r.base = unloadedP99(t, client, srv.URL)
	r.got = offer(t, client, srv.URL, rate, warmup, measure)
	r.limit = lim.Limit()
	return r
}

// The test: offered twice the server's capacity, the node keeps
// the p99 latency of the requests it admits within twice the unloaded
// p99, and turns the rest away with 503 and Retry-After. The same load
// without the limiter shows that the test can fail: there every request
// queues, and the latency grows for as long as the overload lasts.
func TestOverloadKeepsAdmittedLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("offers load for several seconds")
	}
	rate := 2 * capacity * float64(time.Second) / float64(serviceTime)
	warmup, measure := time.Second, 6*time.Second
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000}, Timeout: time.Minute}
	defer client.CloseIdleConnections()

	// A machine busy with other work can stop this process for whole
	// fractions of a second: every request in flight then takes that
	// long, and no limiter can help. It shows as requests the generator
	// failed to send (its ticker drops the ticks it misses); such a run
	// says nothing of the limiter and is made again.
	var r run
	for attempt := 1; ; attempt++ {
		r = measureLimiter(t, client, rate, warmup, measure)
		sent := float64(len(r.got)) / (rate * measure.Seconds())
		if sent >= 0.9 {
			break
		}
		t.Logf("run %d: the machine let the generator send %.0f%% of the load; measuring again", attempt, 100*sent)
		if attempt == 3 {
			t.Skip("the machine was too busy to offer the load three times over")
		}
	}
	var admitted []time.Duration
	rejected := 0
	for _, o := range r.got {
		switch o.status {
		case http.StatusOK:
			admitted = append(admitted, o.latency)
		case http.StatusServiceUnavailable:
			rejected++
			if o.retryAfter == "" || o.ctype != "application/problem+json" {
				t.Errorf("a shed request answered Retry-After %q, Content-Type %q; want both set", o.retryAfter, o.ctype)
			}
		default:
			t.Errorf("status %d under load", o.status)
		}
	}
	if len(admitted) == 0 {
		t.Fatal("nothing admitted under load")
	}
	served := float64(len(admitted)) / measure.Seconds()
	full := capacity * float64(time.Second) / float64(serviceTime)
	t.Logf("unloaded p99 %v; at 2× capacity (%.0f/s) admitted %d (%.0f/s of %.0f/s capacity), p99 %v; shed %d; limit %d",
		r.base, rate, len(admitted), served, full, p99(admitted), rejected, r.limit)
	if got := p99(admitted); got > 2*r.base {
		t.Errorf("admitted p99 %v at 2× capacity, more than twice the unloaded %v", got, r.base)
	}
	if served < 0.7*full {
		t.Errorf("served %.0f/s, under 70%% of the capacity (%.0f/s): the limiter sheds what the server could take", served, full)
	}
	if rejected == 0 || r.shed == 0 {
		t.Errorf("nothing was shed at 2× capacity (%d answers 503, %d counted)", rejected, r.shed)
	}

	t.Run("without the limiter", func(t *testing.T) {
		bare := httptest.NewServer(boundedServer())
		defer bare.Close()
		base := unloadedP99(t, client, bare.URL)
		var ls []time.Duration
		for _, o := range offer(t, client, bare.URL, rate, warmup, measure/2) {
			ls = append(ls, o.latency)
		}
		t.Logf("unloaded p99 %v; at 2× capacity p99 %v", base, p99(ls))
		if p99(ls) <= 2*base {
			t.Errorf("without a limiter the p99 at 2× capacity is %v, within twice the unloaded %v: the load does not overload", p99(ls), base)
		}
	})
}
