package gateway

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/photofeed/photofeed/internal/problem"
	"github.com/photofeed/photofeed/resilience"
)

// Gateway is an http.Handler that forwards each request to one of its
// upstreams. Its methods are safe for concurrent use.
type Gateway struct {
	cfg     Config
	mu      sync.Mutex // serialises changes to set, and ejections
	set     atomic.Pointer[upstreamSet]
	routes  []route // longest prefix first
	def     route
	budget  *retryBudget
	backoff resilience.Backoff
	bufs    sync.Pool // *[]byte for copying response bodies

	closing    context.Context // done once Shutdown is called
	endStreams context.CancelFunc
}

type route struct {
	prefix   string
	methods  []string // any method when empty
	balancer balancer
	hashed   bool
	stream   bool
	timeout  time.Duration
}

// New makes a Gateway for cfg. Run must be running for the active health
// checks; without it only passive ejection takes upstreams out.
func New(cfg Config) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, budget: newRetryBudget(cfg.Retry),
		backoff: resilience.Backoff{Base: cfg.Retry.Base, Max: cfg.Retry.Max}}
	g.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	g.closing, g.endStreams = context.WithCancel(context.Background())
	g.def = newRoute("", cfg.Policy, cfg.Timeout)
	for _, r := range cfg.Routes {
		rt := newRoute(r.Prefix, cmp.Or(r.Policy, cfg.Policy), cmp.Or(r.Timeout, cfg.Timeout))
		rt.methods = r.Methods
		rt.stream = r.Stream
		g.routes = append(g.routes, rt)
	}
	slices.SortStableFunc(g.routes, func(a, b route) int {
		return cmp.Or(len(b.prefix)-len(a.prefix), len(b.methods)-len(a.methods))
	})
	g.set.Store(newUpstreamSet(nil))
	if err := g.SetUpstreams(cfg.Upstreams); err != nil {
		return nil, err
	}
	return g, nil
}

func newRoute(prefix, policy string, timeout time.Duration) route {
	b, _ := newBalancer(policy) // policies were checked by withDefaults
	return route{prefix: prefix, balancer: b, hashed: policy == PolicyHash, timeout: timeout}
}

func (g *Gateway) route(r *http.Request) *route {
	for i := range g.routes {
		rt := &g.routes[i]
		if strings.HasPrefix(r.URL.Path, rt.prefix) && (len(rt.methods) == 0 || slices.Contains(rt.methods, r.Method)) {
			return &g.routes[i]
		}
	}
	return &g.def
}

var (
	errNoUpstream = errors.New("no upstream can take the request")
	errTimeout    = errors.New("upstream did not answer in time")
)

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID(r)
	w.Header().Set(requestIDHeader, id)
	x := &exchange{g: g, r: r, rt: g.route(r), retry: safeToRetry(r) && g.cfg.Retry.Attempts > 0}
	if x.rt.hashed {
		if g.cfg.HashKey != nil {
			x.key = g.cfg.HashKey(r)
		}
		if x.key == "" {
			x.key = g.cfg.ClientAddr(r)
		}
	}
	body, err := newRequestBody(r, x.retry, g.cfg.Retry.BodyLimit)
	if err != nil {
		if r.Context().Err() == nil {
			problem.Write(w, *problem.BadRequest("the request body could not be read", nil))
		}
		return
	}
	x.body = body
	if body.streams() {
		// The upstream may answer before it has read the whole body (a
		// refused upload) while the attempt still waits on the client for
		// more. Go's HTTP/1 server would take the body's lock to drain it
		// before sending the answer, and the answer would wait for the
		// client's next bytes; full duplex sends it at once. HTTP/2 is
		// full duplex already and says so with an error, ignored.
		http.NewResponseController(w).EnableFullDuplex()
	}
	x.header = outHeader(r, id, g.cfg.ClientAddr(r))
	g.budget.earn()
	resp, a, err := x.run()
	if body.streams() && !body.drained() {
		// Answered before the client's body was read to its end (the
		// upstream refused the connection, or answered first): the rest
		// of it is not read, so the connection cannot carry another
		// request. With full duplex Go's HTTP/1 server neither drains it
		// nor closes the connection, and panics reading the next request
		// (golang/go#68560).
		w.Header().Set("Connection", "close")
	}
	if err != nil {
		g.fail(w, err)
		return
	}
	g.respond(w, r, resp, a)
}

// fail answers a request no upstream answered.
func (g *Gateway) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errClientGone):
		// nobody to answer
	case errors.Is(err, errNoUpstream):
		problem.Write(w, *problem.New(http.StatusServiceUnavailable, "unavailable",
			"No upstream can take the request now: all are down, ejected, draining or at their limit."))
	case errors.Is(err, errTimeout):
		problem.Write(w, *problem.New(http.StatusGatewayTimeout, "unavailable", "The upstream did not answer in time."))
	default:
		problem.Write(w, *problem.New(http.StatusBadGateway, "unavailable", "The upstream did not answer."))
	}
}
