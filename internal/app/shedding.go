package app

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/internal/admission"
)

// shedding is an api node's admission control (internal/admission): how
// many requests it serves at once, which it turns away first when that is
// not enough, and the metrics that show it.
type shedding struct {
	limiter *admission.Limiter // nil with --max-inflight 0
	shed    *prometheus.CounterVec
	limit   prometheus.GaugeFunc
}

func newShedding(cfg Config) *shedding {
	s := &shedding{shed: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "photofeed_shed_total",
		Help: "Requests answered 503 at once because the node had no room for them, by class (critical, sheddable).",
	}, []string{"class"})}
	// Every class shows from the start, at 0: a series that appears only
	// at the first shed leaves rate() and the dashboard with nothing to
	// show, rather than 0, until then.
	for _, c := range []admission.Class{admission.Critical, admission.Sheddable} {
		s.shed.WithLabelValues(c.String())
	}
	if cfg.MaxInflight > 0 {
		s.limiter = admission.New(admission.Config{MaxLimit: cfg.MaxInflight, Fixed: !cfg.AdaptiveLimit})
	}
	s.limit = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "photofeed_admission_limit",
		Help: "Requests the node admits in flight at once now (it follows their latency unless --adaptive-limit=false); 0 without a limit.",
	}, func() float64 {
		if s.limiter == nil {
			return 0
		}
		return float64(s.limiter.Limit())
	})
	return s
}

func (s *shedding) collectors() []prometheus.Collector {
	return []prometheus.Collector{s.shed, s.limit}
}

// middleware admits requests by routeClass, or answers 503 at once.
func (s *shedding) middleware(h http.Handler) http.Handler {
	if s.limiter == nil {
		return h
	}
	return s.limiter.Middleware(routeClass, func(c admission.Class) { s.shed.WithLabelValues(c.String()).Inc() }, h)
}

// routeClass says which requests the node keeps serving when it cannot
// serve them all, after Stripe's load shedders: signing up and in, every
// write, the feed, profiles, posts and their media are critical; search,
// suggestions, follower lists, the explore page, the API's own
// documentation and unknown routes are shed first. A request may lower
// its own importance with an RFC 9218 Priority header of urgency 4 or
// more (the gateway's home sends its extras so), never raise it. Health
// checks are never shed, nor the live feed's stream: it lasts minutes,
// and its duration says nothing of how loaded the node is. Nor is the
// architecture page's stream, for the same reason, and because an
// overloaded system is when its operators look at it.
func routeClass(r *http.Request) admission.Class {
	p := r.URL.Path
	if p == "/healthz" || p == "/readyz" || p == liveStreamPath || p == architectureEventsPath {
		return admission.Exempt
	}
	if lowUrgency(r.Header.Get("Priority")) {
		return admission.Sheddable
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return admission.Critical
	}
	p = unversioned(p)
	switch {
	case p == "/feed", p == "/me", p == "/", p == "/login", p == "/signup", p == "/upload",
		strings.HasPrefix(p, "/media/"), strings.HasPrefix(p, "/static/"),
		strings.HasPrefix(p, "/posts/"), strings.HasPrefix(p, "/p/"), strings.HasPrefix(p, "/u/"):
		return admission.Critical
	case strings.HasPrefix(p, "/users/"):
		if strings.HasSuffix(p, "/followers") || strings.HasSuffix(p, "/following") {
			return admission.Sheddable
		}
		return admission.Critical
	}
	return admission.Sheddable
}

// unversioned maps /v1/feed and /v2/feed to /feed; other paths stay.
func unversioned(p string) string {
	for _, v := range []string{"/v1/", "/v2/"} {
		if rest, ok := strings.CutPrefix(p, v); ok {
			return "/" + rest
		}
	}
	return p
}

// lowUrgency reports whether an RFC 9218 Priority field asks for an
// urgency below the default (u=3): u=4 to u=7.
func lowUrgency(field string) bool {
	for _, member := range strings.Split(field, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(member), "u="); ok {
			u, err := strconv.Atoi(v)
			return err == nil && u > 3 && u <= 7
		}
	}
	return false
}
