package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/internal/gateway"
)

// upstreamCollector reports each of the gateway's upstreams at scrape
// time, from the same state that routes requests.
type upstreamCollector struct {
	upstreams func() []gateway.UpstreamState
	usable    *prometheus.Desc
	inFlight  *prometheus.Desc
	streams   *prometheus.Desc
	requests  *prometheus.Desc
	ejections *prometheus.Desc
	retries   *prometheus.Desc
	breaker   *prometheus.Desc
}

func newUpstreamCollector(upstreams func() []gateway.UpstreamState) *upstreamCollector {
	return &upstreamCollector{
		upstreams: upstreams,
		usable: prometheus.NewDesc("photofeed_gateway_upstream_usable",
			"1 if the upstream takes new requests (healthy, not ejected, not draining, breaker not open).", []string{"upstream"}, nil),
		inFlight: prometheus.NewDesc("photofeed_gateway_upstream_in_flight",
			"Requests the gateway has in flight on the upstream, event streams apart.", []string{"upstream"}, nil),
		streams: prometheus.NewDesc("photofeed_gateway_upstream_streams",
			"Event streams (the live feed) the gateway holds open on the upstream.", []string{"upstream"}, nil),
		requests: prometheus.NewDesc("photofeed_gateway_upstream_requests_total",
			"Attempts sent to the upstream (a retried request counts once per attempt), by outcome: ok, server_error (5xx), "+
				"connection_error, timeout (no headers in time), shed (a 503 for load), client_gone.", []string{"upstream", "outcome"}, nil),
		ejections: prometheus.NewDesc("photofeed_gateway_upstream_ejections_total",
			"Times passive outlier detection took the upstream out for failing requests in a row.", []string{"upstream"}, nil),
		retries: prometheus.NewDesc("photofeed_gateway_upstream_retries_total",
			"Attempts on the upstream that failed and were retried on another one.", []string{"upstream"}, nil),
		breaker: prometheus.NewDesc("photofeed_gateway_upstream_breaker_state",
			"The upstream's circuit breaker: 0 closed, 1 half-open (one probe allowed), 2 open.", []string{"upstream"}, nil),
	}
}

// breakerGauge gives the values of photofeed_gateway_upstream_breaker_state.
var breakerGauge = map[string]float64{"closed": 0, "half-open": 1, "open": 2}

func (c *upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.usable
	ch <- c.inFlight
	ch <- c.streams
	ch <- c.requests
	ch <- c.ejections
	ch <- c.retries
	ch <- c.breaker
}

func (c *upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	for _, u := range c.upstreams() {
		usable := 0.0
		if usableNow(u) {
			usable = 1
		}
		ch <- prometheus.MustNewConstMetric(c.usable, prometheus.GaugeValue, usable, u.URL)
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(u.InFlight), u.URL)
		ch <- prometheus.MustNewConstMetric(c.streams, prometheus.GaugeValue, float64(u.Streams), u.URL)
		// Counted by the gateway since the upstream joined the set: one
		// removed and added again starts over, which Prometheus takes as
		// a counter reset.
		for outcome, n := range u.Attempts {
			ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(n), u.URL, outcome)
		}
		ch <- prometheus.MustNewConstMetric(c.ejections, prometheus.CounterValue, float64(u.Ejections), u.URL)
		ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(u.Retries), u.URL)
		ch <- prometheus.MustNewConstMetric(c.breaker, prometheus.GaugeValue, breakerGauge[u.Breaker], u.URL)
	}
}

// usableNow says whether u takes new requests, as /readyz and the metrics
// report it.
func usableNow(u gateway.UpstreamState) bool {
	return u.Healthy && !u.Ejected && !u.Draining && u.Breaker != "open"
}
