package gateway

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// health is what the gateway knows of an upstream's health from two
// sources: active checks of its readiness endpoint, and passive watching
// of the requests it serves (outlier detection). Guarded by upstream.mu.
//
// A new upstream starts healthy: it takes traffic at once, and the first
// failed requests or checks take it out again.
type health struct {
	healthy        bool
	passes, fails  int // consecutive active checks
	failedRequests int // consecutive failed requests
	ejectedUntil   time.Time
}

func (h *health) admits(now time.Time) bool {
	return h.healthy && !now.Before(h.ejectedUntil)
}

func (h *health) checked(ok bool, cfg HealthConfig) {
	if ok {
		h.passes, h.fails = h.passes+1, 0
		if !h.healthy && h.passes >= cfg.Healthy {
			h.healthy = true
		}
		// Like Envoy, a passed check ends an ejection early: the instance
		// that refused connections because it was restarting is back.
		h.ejectedUntil = time.Time{}
		return
	}
	h.passes, h.fails = 0, h.fails+1
	if h.healthy && h.fails >= cfg.Unhealthy {
		h.healthy = false
	}
}

// outcome is how one attempt on an upstream ended.
type outcome int

const (
	succeeded  outcome = iota
	failedConn         // no response: refused, reset, closed early
	failed5xx          // the upstream answered with a server error
	timedOut           // no response headers within the route's timeout
	clientGone         // the client left; says nothing of the upstream
	shed               // the upstream refused it for load (Config.Shed): busy, not broken
	outcomes           // how many there are: the size of an upstream's counts
)

// outcomeNames name the outcomes in UpstreamState.Attempts and metrics.
var outcomeNames = [outcomes]string{succeeded: "ok", failedConn: "connection_error", failed5xx: "server_error",
	timedOut: "timeout", clientGone: "client_gone", shed: "shed"}

// observe feeds an attempt's outcome to passive outlier detection: enough
// connection errors or 5xx answers in a row eject the upstream for
// EjectFor, if the set can spare it (see ejectAllowed). Timeouts are the
// breaker's business: a slow upstream is not a dead one.
func (g *Gateway) observe(u *upstream, o outcome) {
	if g.cfg.Outlier.Consecutive < 0 || o == clientGone || o == timedOut || o == shed {
		return
	}
	u.mu.Lock()
	if o == succeeded {
		u.health.failedRequests = 0
		u.mu.Unlock()
		return
	}
	u.health.failedRequests++
	trip := u.health.failedRequests >= g.cfg.Outlier.Consecutive
	u.mu.Unlock()
	if !trip {
		return
	}
	g.mu.Lock() // one ejection decision at a time, so that together they keep half
	defer g.mu.Unlock()
	if !g.ejectAllowed(u) {
		return
	}
	u.mu.Lock()
	u.health.failedRequests = 0
	u.health.ejectedUntil = g.cfg.Now().Add(g.cfg.Outlier.EjectFor)
	u.mu.Unlock()
	u.ejections.Add(1)
}

// ejectAllowed keeps at least half of the upstreams in service (and
// always allows one): when most of them fail at once the fault is more
// likely in the requests or a shared dependency, and ejecting them all
// would turn errors into a total outage.
func (g *Gateway) ejectAllowed(u *upstream) bool {
	set := g.set.Load()
	now := g.cfg.Now()
	ejected := 0
	for _, o := range set.list {
		o.mu.Lock()
		if o != u && now.Before(o.health.ejectedUntil) {
			ejected++
		}
		o.mu.Unlock()
	}
	return ejected == 0 || ejected+1 <= len(set.list)/2
}

// CheckHealth runs one round of active checks, every upstream in
// parallel, and returns when all have answered or timed out.
func (g *Gateway) CheckHealth(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range g.set.Load().list {
		if u.draining.Load() {
			continue
		}
		wg.Go(func() {
			ok := g.probe(ctx, u)
			u.mu.Lock()
			u.health.checked(ok, g.cfg.Health)
			if ok {
				u.health.failedRequests = 0
			}
			u.mu.Unlock()
		})
	}
	wg.Wait()
}

// probe asks u's readiness endpoint, over u's own connection pool.
func (g *Gateway) probe(ctx context.Context, u *upstream) bool {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Health.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.target.JoinPath(g.cfg.Health.Path).String(), nil)
	if err != nil {
		return false
	}
	resp, err := u.transport.RoundTrip(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drained, the connection goes back to the pool
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Run checks the upstreams every Health.Interval (or on each of
// Config.Ticks) until ctx ends.
func (g *Gateway) Run(ctx context.Context) error {
	ticks := g.cfg.Ticks
	if ticks == nil {
		t := time.NewTicker(g.cfg.Health.Interval)
		defer t.Stop()
		ticks = t.C
	}
	g.CheckHealth(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
			g.CheckHealth(ctx)
		}
	}
}
