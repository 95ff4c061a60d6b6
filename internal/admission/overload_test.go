package admission_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/admission"
)

// A server with a real capacity: capacity requests at once, each holding
// its slot for serviceTime; more wait for a slot.
const (
	capacity    = 4
	serviceTime = 50 * time.Millisecond
)

func boundedServer() http.Handler {
	slots := make(chan struct{}, capacity)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slots <- struct{}{}
		defer func() { <-slots }()
		time.Sleep(serviceTime) // the work
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
	warmup, measure := time.Second, 3*time.Second
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000}, Timeout: time.Minute}
	defer client.CloseIdleConnections()

	// The most in flight is well above what the server can take, as an
	// operator sets --max-inflight: the limiter has to find the capacity.
	lim := admission.New(admission.Config{MaxLimit: 16 * capacity})
	shed := 0
	var shedMu sync.Mutex
	srv := httptest.NewServer(lim.Middleware(func(*http.Request) admission.Class { return admission.Critical },
		func(admission.Class) { shedMu.Lock(); shed++; shedMu.Unlock() }, boundedServer()))
	defer srv.Close()

	base := unloadedP99(t, client, srv.URL)
	got := offer(t, client, srv.URL, rate, warmup, measure)
	var admitted []time.Duration
	rejected := 0
	for _, o := range got {
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
	served := float64(len(admitted)) / measure.Seconds()
	full := capacity * float64(time.Second) / float64(serviceTime)
	t.Logf("unloaded p99 %v; at 2× capacity (%.0f/s) admitted %d (%.0f/s of %.0f/s capacity), p99 %v; shed %d; limit %d",
		base, rate, len(admitted), served, full, p99(admitted), rejected, lim.Limit())
	if len(admitted) == 0 {
		t.Fatal("nothing admitted under load")
	}
	if got := p99(admitted); got > 2*base {
		t.Errorf("admitted p99 %v at 2× capacity, more than twice the unloaded %v", got, base)
	}
	if served < 0.7*full {
		t.Errorf("served %.0f/s, under 70%% of the capacity (%.0f/s): the limiter sheds what the server could take", served, full)
	}
	if rejected == 0 || shed == 0 {
		t.Errorf("nothing was shed at 2× capacity (%d answers 503, %d counted)", rejected, shed)
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
