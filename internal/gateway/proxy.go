package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// exchange is one client request on its way through the gateway: its
// attempts on upstreams, until one answers or none should be tried.
type exchange struct {
	g      *Gateway
	r      *http.Request
	rt     *route
	key    string
	retry  bool
	body   *requestBody
	header http.Header // sent with every attempt
}

// run sends the request to upstreams until one answers in a way that is
// final. The returned attempt still holds its upstream's slot while the
// caller streams the response.
func (x *exchange) run() (*http.Response, *attempt, error) {
	a := x.g.pick(x.rt, x.key, nil)
	if a == nil {
		return nil, nil, errNoUpstream
	}
	tried := []*upstream{a.u}
	body, _ := x.body.next()
	for n := 0; ; n++ {
		resp, o, err := a.send(x.r, x.header, body, x.body.length, x.rt.timeout)
		if o == clientGone {
			a.finish(o)
			return nil, nil, errClientGone
		}
		var next *attempt
		if x.retry && n < x.g.cfg.Retry.Attempts && worthRetrying(o, resp) && x.body.replayable() {
			next, body = x.retryOn(tried)
		}
		if next == nil {
			if resp != nil {
				return resp, a, nil
			}
			a.finish(o)
			return nil, nil, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		a.u.retries.Add(1)
		a.finish(o)
		if !x.g.wait(x.r.Context(), n) {
			next.finish(clientGone)
			return nil, nil, errClientGone
		}
		a = next
		tried = append(tried, a.u)
	}
}

// retryOn reserves an upstream not yet tried and the body to send it, if
// the retry budget allows another attempt.
func (x *exchange) retryOn(tried []*upstream) (*attempt, io.ReadCloser) {
	next := x.g.pick(x.rt, x.key, tried)
	if next == nil {
		return nil, nil
	}
	if !x.g.budget.spend() {
		next.abandon()
		return nil, nil
	}
	body, ok := x.body.next()
	if !ok {
		next.abandon()
		return nil, nil
	}
	return next, body
}

// pick reserves an upstream of the current set for one attempt, skipping
// those already tried. A set replaced while it was picking from it may
// have had all its members drained under it: the new set is tried then.
func (g *Gateway) pick(rt *route, key string, tried []*upstream) *attempt {
	for range 3 {
		set := g.set.Load()
		if a := g.pickFrom(set, rt, key, tried); a != nil || g.set.Load() == set {
			return a
		}
	}
	return nil
}

func (g *Gateway) pickFrom(set *upstreamSet, rt *route, key string, tried []*upstream) *attempt {
	now := g.cfg.Now()
	c := &choice{set: set, usable: make([]bool, len(set.list)), key: key, limit: int64(g.cfg.MaxInFlight), stream: rt.stream}
	if rt.stream {
		c.limit = int64(g.cfg.MaxStreams)
	}
	for i, u := range set.list {
		if !slices.Contains(tried, u) && u.usable(now) {
			c.usable[i] = true
			c.count++
		}
	}
	var done func(error)
	var slot *atomic.Int64
	c.reserve = func(u *upstream, limit int64) bool {
		slot = &u.inflight
		if rt.stream {
			slot = &u.streams
		}
		if !u.tryAcquire(slot, limit) {
			return false
		}
		d, ok := u.permit()
		if !ok {
			u.release(slot)
			return false
		}
		done = d
		return true
	}
	u := rt.balancer.pick(c)
	if u == nil {
		return nil
	}
	return &attempt{g: g, u: u, slot: slot, stream: rt.stream, done: done, cancel: func(error) {}}
}

// attempt is one try of a request on one upstream; it holds a slot in the
// upstream's bulkhead (or its stream limit) and its breaker's permission
// until finished.
type attempt struct {
	g       *Gateway
	u       *upstream
	slot    *atomic.Int64
	stream  bool
	done    func(error)
	settled bool // the breaker has been told
	cancel  context.CancelCauseFunc
}

var errFailed = errors.New("upstream failed")

// finish gives back the slot and tells the breaker and outlier detection
// how the attempt went.
func (a *attempt) finish(o outcome) {
	a.u.attempts[o].Add(1)
	a.cancel(nil)
	a.g.observe(a.u, o)
	a.settle(o)
	a.u.release(a.slot)
}

// settle tells the breaker how the attempt went, once. A stream settles
// when its headers come: held open for hours, it would otherwise keep a
// half-open breaker's one probe, and its end says nothing of the upstream.
func (a *attempt) settle(o outcome) {
	if a.settled {
		return
	}
	a.settled = true
	switch o {
	case succeeded:
		a.done(nil)
	case clientGone, shed:
		a.done(errClientGone) // counted neither way
	default:
		a.done(errFailed)
	}
}

// abandon gives back a reservation that was never used.
func (a *attempt) abandon() {
	a.done(errClientGone) // not counted either way
	a.u.release(a.slot)
}

// send makes the attempt and waits for the response headers, at most
// timeout.
func (a *attempt) send(r *http.Request, h http.Header, body io.ReadCloser, length int64, timeout time.Duration) (*http.Response, outcome, error) {
	ctx, cancel := context.WithCancelCause(r.Context())
	a.cancel = cancel
	timer := time.AfterFunc(timeout, func() { cancel(errTimeout) })
	resp, err := a.u.roundTrip(a.request(ctx, r, h, body, length))
	if !timer.Stop() && err == nil { // the headers came, but too late: the body is cut
		resp.Body.Close()
		resp, err = nil, context.Cause(ctx)
	}
	switch {
	case err == nil:
		return resp, a.g.outcomeOf(resp), nil
	case r.Context().Err() != nil:
		return nil, clientGone, errClientGone
	case errors.Is(context.Cause(ctx), errTimeout):
		return nil, timedOut, fmt.Errorf("upstream %s: %w after %s", a.u.name, errTimeout, timeout)
	}
	return nil, failedConn, fmt.Errorf("upstream %s: %w", a.u.name, err)
}

func (g *Gateway) outcomeOf(resp *http.Response) outcome {
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable && g.cfg.Shed != nil && g.cfg.Shed(resp):
		return shed
	case resp.StatusCode >= 500:
		return failed5xx
	}
	return succeeded
}

// request is r addressed to the attempt's upstream.
func (a *attempt) request(ctx context.Context, r *http.Request, h http.Header, body io.ReadCloser, length int64) *http.Request {
	t := a.u.target
	u := &url.URL{Scheme: t.Scheme, Host: t.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if base := strings.TrimSuffix(t.Path, "/"); base != "" {
		u.Path, u.RawPath = base+r.URL.Path, ""
	}
	out := &http.Request{Method: r.Method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: body, ContentLength: length, Host: r.Host}
	return out.WithContext(ctx)
}

// outHeader is the header every attempt of r sends: r's own without the
// hop-by-hop fields and the client's address headers, with Forwarded
// naming client, the resolved client address, and the request id.
func outHeader(r *http.Request, id, client string) http.Header {
	h := make(http.Header, len(r.Header)+2)
	forwardHeader(h, r.Header)
	for _, k := range clientAddrHeaders {
		delete(h, k)
	}
	h["Forwarded"] = []string{forwarded(r, client)}
	h[requestIDHeader] = []string{id}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // else the transport adds Go's own
	}
	return h
}
