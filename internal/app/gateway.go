package app

// The gateway role: this binary as the front door of the api nodes
// (photofeed serve --roles gateway --upstreams ...). It is built by
// buildGateway, not build: it opens none of a node's engines (no
// database, bus, object store or index) and serves no API itself. What it
// shares with an api node is the edge of the request path: the client
// address, the request id, the session token (verified with the same
// --secret, signature and expiry only), and the rate limits (the same
// policies, in Redis with --redis).

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/internal/admission"
	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/home"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/httpcompress"
	"github.com/photofeed/photofeed/internal/httpmetrics"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/live"
	"github.com/photofeed/photofeed/internal/logging"
	"github.com/photofeed/photofeed/internal/problem"
	"github.com/photofeed/photofeed/internal/supervise"
	"github.com/photofeed/photofeed/internal/tracing"
)

// gatewayLimitPrefix keeps the gateway's rate-limit counters apart from
// the api nodes' in a shared Redis: each layer counts a request once, so
// api nodes that keep their own limits behind the gateway do not halve
// the quotas.
const gatewayLimitPrefix = "photofeed:gateway:ratelimit:"

// buildGateway assembles a gateway node from the config: the proxy and
// its route groups, the edge middleware, and as background work the
// upstreams' health checks and, with --upstreams-file, its reloads.
func buildGateway(ctx context.Context, cfg Config, stderr io.Writer) (_ *node, err error) {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, err
	}
	n := &node{log: log}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	tr, err := n.newTracing(cfg)
	if err != nil {
		return nil, err
	}
	upstreams, err := initialUpstreams(cfg)
	if err != nil {
		return nil, err
	}
	routes, def, err := gatewayRoutes(cfg.LBPolicy)
	if err != nil {
		return nil, err
	}
	gw, err := gateway.New(gateway.Config{Upstreams: upstreams, Policy: def, Routes: routes,
		HashKey: userKey, ClientAddr: clientip.From, ShutdownEvent: httpapi.ShutdownEvent(),
		Shed:        func(r *http.Response) bool { return r.Header.Get(admission.ShedHeader) != "" },
		MaxInFlight: cfg.UpstreamLimit, MaxStreams: cfg.UpstreamStreams,
		Health: gateway.HealthConfig{Interval: cfg.HealthInterval},
		Retry:  gateway.RetryConfig{Budget: cfg.RetryBudget}})
	if err != nil {
		return nil, err
	}
	n.gateway = gw
	rdb, err := n.redisClient(cfg)
	if err != nil {
		return nil, err
	}
	figures := newHTTPFigures()
	breakers := &breakerStates{}
	limits, err := rateLimits(cfg, rdb, gatewayLimitPrefix, figures.decided, breakers, log)
	if err != nil {
		return nil, err
	}
	workers := []supervise.Worker{{Name: "upstream-health", Run: gw.Run}}
	if cfg.UpstreamsFile != "" {
		workers = append(workers, supervise.Worker{Name: "upstreams-file",
			Run: reloadUpstreams(gw, cfg.UpstreamsFile, n.hangups(ctx), log)})
	}
	var restarts *prometheus.CounterVec
	n.workers, restarts = supervisor(workers, log)
	n.metrics = metricsHandler(nil, append(figures.collectors(), restarts, newUpstreamCollector(gw.Upstreams))...)
	n.handler = gatewayServer(cfg, gw, limits, figures.requests, subkey([]byte(cfg.Secret), "session-token"), tr, log)
	if err := n.gatewayHeartbeats(cfg, gw, breakers, figures.collectors()); err != nil {
		return nil, err
	}
	return n, nil
}

// gatewayServer is the gateway's handler: its own probes and /v2/home,
// and the proxy for everything else, behind the edge middleware, listed
// from the innermost to the outermost as in newServer.
func gatewayServer(cfg Config, gw *gateway.Gateway, limits func(http.Handler) http.Handler, requests *httpmetrics.Metrics,
	tokenKey []byte, tr *tracing.Tracing, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		answerJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { gatewayReady(w, gw) })
	// The gateway's own answer is compressed here; what it proxies comes
	// compressed (or not) from the api nodes and passes as it is.
	mux.Handle("GET /v2/home", httpcompress.Middleware(home.New(home.Config{API: gw, Log: log})))
	mux.Handle("/", tr.Named("proxy", gw)) // the spans of what it passes on

	trusted, _ := clientip.ParseTrusted(cfg.TrustedProxies) // checked with the config
	header, _ := clientip.ParseHeader(cfg.ClientIPHeader)
	// What the gateway proxies is one route here ("/"): the api nodes
	// behind it count theirs by pattern.
	var h http.Handler = httpmetrics.Route(tr.NameByRoute(mux))
	h = refuseBadTokens(h)
	h = limits(h)
	h = httpauth.Middleware(tokenCheck{tokens: identity.NewTokenVerifier(tokenKey)}, log, h)
	h = problem.Recover(log, h)
	h = logging.Middleware(log, h)
	h = requests.Middleware(mux, h)
	h = clientip.New(trusted, header).Middleware(h)
	// Outermost, as on an api node. Recording, it sends the gateway's own
	// span upstream as the traceparent; not recording, it leaves the
	// client's traceparent to be forwarded as it came, and a request
	// without one costs a map lookup.
	h = tr.Middleware(tracing.HTTPOptions{Forward: true, Untraced: probePaths}, h)
	return h
}

// userKey is the consistent-hash key: the verified user, so that a
// user's requests land on the api node whose caches hold their timeline
// and posts. Without one the gateway hashes the client address.
func userKey(r *http.Request) string {
	return hashKey(r.URL.Path, httpauth.UserID(r.Context()))
}

// liveStreamPath is the live feed's endpoint (internal/httpapi routes).
const liveStreamPath = "/v2/feed/stream"

// architectureEventsPath is the architecture page's stream (internal/web).
const architectureEventsPath = "/admin/architecture/events"

// hashKey is userKey for a request to path by uid (0: signed out). A
// live stream goes by its reader's group instead: a node then holds whole
// groups, and listens on few of the live feed's subjects (internal/live).
func hashKey(path string, uid int64) string {
	switch {
	case uid == 0:
		return ""
	case path == liveStreamPath:
		return "live-group:" + strconv.Itoa(live.Group(uid))
	}
	return strconv.FormatInt(uid, 10)
}

// refuseBadTokens answers 401 for a bearer token that failed verification
// (forged, expired, signed with another secret), so it never reaches an
// upstream. A session cookie that failed is a logged-out browser, as on an
// api node: httpauth cleared it, and it is taken off the request here.
func refuseBadTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := httpauth.BadCredentials(r.Context()); err != nil {
			problem.Write(w, problem.For(err))
			return
		}
		if _, signedIn := httpauth.Claims(r.Context()); !signedIn {
			if _, err := r.Cookie(httpauth.CookieName); err == nil {
				r = withoutCookie(r, httpauth.CookieName)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func withoutCookie(r *http.Request, name string) *http.Request {
	r = r.Clone(r.Context())
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name != name {
			r.AddCookie(c)
		}
	}
	return r
}

// gatewayReady answers /readyz: ready while at least one upstream takes
// requests, so that a load balancer in front of several gateways skips
// one cut off from every api node.
func gatewayReady(w http.ResponseWriter, gw *gateway.Gateway) {
	type upstreamJSON struct {
		URL      string `json:"url"`
		Usable   bool   `json:"usable"`
		Healthy  bool   `json:"healthy"`
		Ejected  bool   `json:"ejected"`
		Draining bool   `json:"draining"`
		Breaker  string `json:"breaker"`
		InFlight int64  `json:"in_flight"`
		Streams  int64  `json:"streams"`
	}
	status, usable := "unavailable", 0
	list := []upstreamJSON{}
	for _, u := range gw.Upstreams() {
		ok := usableNow(u)
		if ok {
			usable++
			status = "ok"
		}
		list = append(list, upstreamJSON{URL: u.URL, Usable: ok, Healthy: u.Healthy, Ejected: u.Ejected,
			Draining: u.Draining, Breaker: u.Breaker, InFlight: u.InFlight, Streams: u.Streams})
	}
	code := http.StatusOK
	if usable == 0 {
		code = http.StatusServiceUnavailable
	}
	answerJSON(w, code, map[string]any{"status": status, "upstreams": list})
}

// answerJSON writes a probe's answer, never cached.
func answerJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// hangupsKey carries, in tests, the channel standing for SIGHUP.
type hangupsKey struct{}

// hangups is what tells the gateway to re-read --upstreams-file: SIGHUP,
// or in tests a channel they send on.
func (n *node) hangups(ctx context.Context) <-chan os.Signal {
	if ch, ok := ctx.Value(hangupsKey{}).(<-chan os.Signal); ok {
		return ch
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	n.closers = append(n.closers, func() error { signal.Stop(ch); return nil })
	return ch
}

// reloadUpstreams re-reads the upstreams file at each hangup and makes it
// the upstream set: new instances join, missing ones are drained (no new
// requests, the ones in flight finish). A file that cannot be read or
// parsed leaves the set as it was.
func reloadUpstreams(gw *gateway.Gateway, file string, hangups <-chan os.Signal, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hangups:
			}
			list, err := readUpstreamsFile(file)
			if err == nil {
				err = gw.SetUpstreams(list)
			}
			if err != nil {
				log.Error("upstreams not reloaded; the set is unchanged", "file", file, "err", err)
				continue
			}
			log.Info("upstreams reloaded", "file", file, "upstreams", list)
		}
	}
}
