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
	}
}

func (c *upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.usable
	ch <- c.inFlight
	ch <- c.streams
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
	}
}

// usableNow says whether u takes new requests, as /readyz and the metrics
// report it.
func usableNow(u gateway.UpstreamState) bool {
	return u.Healthy && !u.Ejected && !u.Draining && u.Breaker != "open"
}
