package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/internal/httpmetrics"
)

// httpFigures are the series of a node's public listener: its requests by
// route (rate, errors, duration) and its rate limits' decisions.
type httpFigures struct {
	requests  *httpmetrics.Metrics
	decisions *prometheus.CounterVec
}

func newHTTPFigures() *httpFigures {
	return &httpFigures{
		requests: httpmetrics.New(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "photofeed_ratelimit_decisions_total",
			Help: "Rate-limit decisions, by policy and outcome (allowed, limited, failed: the limiter failed and the request went through).",
		}, []string{"policy", "outcome"}),
	}
}

func (f *httpFigures) collectors() []prometheus.Collector {
	return append(f.requests.Collectors(), f.decisions)
}

// decided counts a rate-limit decision.
func (f *httpFigures) decided(policy, outcome string) {
	f.decisions.WithLabelValues(policy, outcome).Inc()
}
