// Package httpmetrics counts and times HTTP requests for Prometheus, the
// RED way (rate, errors, duration), labelled by the ServeMux route
// pattern that served each request, never by its path: the paths are the
// client's to choose, the patterns are the code's, so the series stay
// few whatever a client sends.
package httpmetrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Unmatched is the route label of every request no pattern matched (404,
// 405, a path the mux redirects): one series for all of them.
const Unmatched = "unmatched"

// Buckets are the request-duration histogram's bounds, in seconds: fine
// below 100 ms, where the feed's p99 target and most answers lie, and
// coarse up to the slow uploads.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Router finds the pattern a request would be routed to; *http.ServeMux
// is one.
type Router interface {
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// Metrics holds the request series of one handler.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// New makes the series; register them with Collectors.
func New() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time from a request's arrival to its handler's return, by route pattern and method.",
			Buckets: Buckets,
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being served now, event streams included.",
		}),
	}
}

// Collectors are the series, for a registry.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.inFlight}
}

// Middleware counts and times every request through next. The route is
// what Route (around the mux, further in) saw; a request turned away
// before it (shed, rate-limited, refused) is looked up in fallback, which
// may be nil, and is Unmatched if it matches nothing there either.
func (m *Metrics) Middleware(fallback Router, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		rec := &recorder{ResponseWriter: w}
		var returned bool
		// Deferred, so that a panic (answered further out) still counts.
		defer func() {
			m.inFlight.Dec()
			route := rec.route
			if !rec.routed && fallback != nil {
				_, route = fallback.Handler(r)
			}
			if route == "" {
				route = Unmatched
			}
			code := rec.code
			switch {
			case code != 0:
			case !returned && !rec.wrote:
				code = http.StatusInternalServerError // net/http's answer to a panic
			default:
				code = http.StatusOK // the handler wrote no status: net/http's default
			}
			method := methodLabel(r.Method)
			m.requests.WithLabelValues(route, method, codeLabel(code)).Inc()
			m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), recorderKey{}, rec)))
		returned = true
	})
}

// Route wraps the mux: the mux sets the request's Pattern as it routes,
// and Route hands it to Middleware's recorder, further out, where the
// request in hand is another copy.
func Route(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, _ := r.Context().Value(recorderKey{}).(*recorder)
		if rec != nil {
			// Deferred, so that a handler's panic keeps its route.
			defer func() { rec.route, rec.routed = r.Pattern, true }()
		}
		mux.ServeHTTP(w, r)
	})
}

type recorderKey struct{}

// recorder is the request's status and route: one allocation for both.
type recorder struct {
	http.ResponseWriter
	code   int  // the first final status written
	wrote  bool // a body write, which implies 200 when no status was
	route  string
	routed bool // the request reached Route
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes for
// the event streams, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// methodLabel bounds the method label as the route label is bounded: a
// client may send any token as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// codes are the labels of the status codes, made once: strconv.Itoa
// allocates for numbers past 99.
var codes = func() (c [600]string) {
	for i := 100; i < len(c); i++ {
		c[i] = strconv.Itoa(i)
	}
	return c
}()

func codeLabel(code int) string {
	if code >= 100 && code < len(codes) {
		return codes[code]
	}
	return "other"
}
