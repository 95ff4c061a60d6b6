package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// upstream is one instance behind the gateway with everything kept per
// instance: its connection pool, its in-flight count (the bulkhead and the
// load the balancers compare), its breaker and its health.
type upstream struct {
	name      string // the URL as configured
	target    *url.URL
	transport *http.Transport
	h1        *h1Client // bodyless GETs and HEADs; nil for https upstreams
	breaker   *gobreaker.TwoStepCircuitBreaker[struct{}]

	inflight atomic.Int64 // requests, not streams: the bulkhead's count
	// attempts, ejections and retries count since the upstream joined
	// the set, for metrics: atomics, so that counting costs a request
	// no lock.
	attempts  [outcomes]atomic.Uint64
	ejections atomic.Uint64
	retries   atomic.Uint64
	streams   atomic.Int64 // event streams held open, counted apart
	draining  atomic.Bool
	// cutStreams ends the event streams on this upstream when it is
	// drained: their clients reconnect to another and miss nothing, where
	// waiting for them would hold the drain open for hours.
	streamsCut context.Context
	cutStreams context.CancelFunc
	drained    chan struct{} // closed once draining with nothing in flight
	drainOnce  sync.Once

	mu     sync.Mutex
	health health
}

func newUpstream(raw string, cfg Config) (*upstream, error) {
	target, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", raw, err)
	}
	if target.Scheme != "http" && target.Scheme != "https" || target.Host == "" {
		return nil, fmt.Errorf("upstream %q: want http://host:port", raw)
	}
	u := &upstream{name: raw, target: target, drained: make(chan struct{}), health: health{healthy: true}}
	u.streamsCut, u.cutStreams = context.WithCancel(context.Background())
	u.transport = &http.Transport{
		Proxy:               nil, // the gateway is the proxy; an environment's HTTP_PROXY must not capture upstream traffic
		DialContext:         (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		// Clients' Accept-Encoding passes through and compressed bodies pass
		// back untouched; the transport must not add gzip and unpack it.
		DisableCompression: true,
		WriteBufferSize:    32 << 10,
		ReadBufferSize:     32 << 10,
	}
	if target.Scheme == "http" {
		u.h1 = &h1Client{addr: target.Host, dial: u.transport.DialContext,
			maxIdle: cfg.MaxIdleConnsPerHost, idleFor: u.transport.IdleConnTimeout}
	}
	u.breaker = newBreaker(raw, cfg.Breaker)
	return u, nil
}

// tryAcquire takes a slot of count (u.inflight or u.streams) if fewer
// than limit are taken and the upstream is not draining; the caller
// releases it.
func (u *upstream) tryAcquire(count *atomic.Int64, limit int64) bool {
	for {
		n := count.Load()
		if n >= limit {
			return false
		}
		if count.CompareAndSwap(n, n+1) {
			break
		}
	}
	// Checked after counting, so that drain, which sets the flag before
	// reading the counts, either sees this request or is seen by it.
	if u.draining.Load() {
		u.release(count)
		return false
	}
	return true
}

func (u *upstream) release(count *atomic.Int64) {
	if count.Add(-1) == 0 && u.draining.Load() && u.idle() {
		u.finishDrain()
	}
}

func (u *upstream) idle() bool { return u.inflight.Load() == 0 && u.streams.Load() == 0 }

// drain stops new requests to u and cuts its event streams; drained
// closes when the last request in flight is done.
func (u *upstream) drain() {
	u.draining.Store(true)
	u.cutStreams()
	if u.idle() {
		u.finishDrain()
	}
}

func (u *upstream) finishDrain() {
	u.drainOnce.Do(func() {
		close(u.drained)
		u.transport.CloseIdleConnections()
		if u.h1 != nil {
			u.h1.closeIdle()
		}
	})
}

// usable says whether u may be offered a new request at now: in service,
// healthy, not ejected and with its breaker not open. The bulkhead and a
// half-open breaker's probe slot are checked when a slot is taken.
func (u *upstream) usable(now time.Time) bool {
	if u.draining.Load() || u.breaker.State() == gobreaker.StateOpen {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.health.admits(now)
}

// UpstreamState is a snapshot of one upstream, for status pages and tests.
type UpstreamState struct {
	URL      string
	InFlight int64
	Streams  int64 // event streams held open
	Healthy  bool  // by the active checks
	Ejected  bool  // by passive outlier detection
	Draining bool
	Breaker  string // "closed", "open" or "half-open"
	// Attempts counts the requests sent to the upstream (a retried
	// request once per attempt) by how they ended, keyed "ok",
	// "connection_error", "server_error", "timeout", "client_gone" and
	// "shed"; Ejections its passive ejections; Retries the attempts on
	// it that failed and were retried on another upstream. All count
	// from when the upstream joined the set.
	Attempts  map[string]uint64
	Ejections uint64
	Retries   uint64
}

func (u *upstream) state(now time.Time) UpstreamState {
	u.mu.Lock()
	h := u.health
	u.mu.Unlock()
	attempts := make(map[string]uint64, outcomes)
	for o := range outcomes {
		attempts[outcomeNames[o]] = u.attempts[o].Load()
	}
	return UpstreamState{URL: u.name, InFlight: u.inflight.Load(), Streams: u.streams.Load(), Healthy: h.healthy,
		Ejected: now.Before(h.ejectedUntil), Draining: u.draining.Load(), Breaker: u.breaker.State().String(),
		Attempts: attempts, Ejections: u.ejections.Load(), Retries: u.retries.Load()}
}

// roundTrip sends req on the upstream's own client for bodyless reads,
// else on its Transport.
func (u *upstream) roundTrip(req *http.Request) (*http.Response, error) {
	if u.h1 != nil && (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody) && req.ContentLength == 0 {
		return u.h1.roundTrip(req)
	}
	return u.transport.RoundTrip(req)
}
