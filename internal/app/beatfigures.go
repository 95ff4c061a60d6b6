package app

import (
	"math"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/photofeed/photofeed/internal/topology"
)

// beatFigures turns the node's own counters into a heartbeat's figures:
// each beat gathers them (off the request path; the requests only ever
// touch their counters, as they do anyway) and reports what changed since
// the last beat.
type beatFigures struct {
	reg  *prometheus.Registry
	now  func() time.Time
	more func(*topology.Figures) // what is read directly: breakers, replicas, workers

	mu      sync.Mutex
	last    time.Time
	prev    counts
	started bool
}

// counts are the cumulative figures one gather reads.
type counts struct {
	requests, limited, shed float64
	buckets                 map[float64]uint64 // duration upper bound (s) → cumulative count
	observed                uint64
	inFlight                float64
}

func newBeatFigures(collectors []prometheus.Collector, more func(*topology.Figures)) *beatFigures {
	reg := prometheus.NewRegistry()
	for _, c := range collectors {
		// A collector the metrics registry also has is fine: registries
		// only ask collectors to describe and collect themselves.
		reg.MustRegister(c)
	}
	return &beatFigures{reg: reg, now: time.Now, more: more}
}

// figures are the rates since the previous call (zero on the first).
func (b *beatFigures) figures() topology.Figures {
	var f topology.Figures
	cur := b.gather()
	now := b.now()
	b.mu.Lock()
	prev, last, started := b.prev, b.last, b.started
	b.prev, b.last, b.started = cur, now, true
	b.mu.Unlock()
	f.InFlight = cur.inFlight
	if secs := now.Sub(last).Seconds(); started && secs > 0 {
		f.RequestsPerS = nonNegative(cur.requests-prev.requests) / secs
		f.LimitedPerS = nonNegative(cur.limited-prev.limited) / secs
		f.ShedPerS = nonNegative(cur.shed-prev.shed) / secs
		f.P99MS = p99(prev, cur) * 1000
	}
	if b.more != nil {
		b.more(&f)
	}
	return f
}

func (b *beatFigures) gather() counts {
	c := counts{buckets: map[float64]uint64{}}
	families, _ := b.reg.Gather() // a partial gather still counts what it read
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "http_requests_total":
				c.requests += m.GetCounter().GetValue()
			case "http_requests_in_flight":
				c.inFlight += m.GetGauge().GetValue()
			case "photofeed_shed_total":
				c.shed += m.GetCounter().GetValue()
			case "photofeed_ratelimit_decisions_total":
				if label(m, "outcome") == "limited" {
					c.limited += m.GetCounter().GetValue()
				}
			case "http_request_duration_seconds":
				// An event stream's duration is how long a reader stayed,
				// not how fast the node answered.
				if r := label(m, "route"); strings.HasSuffix(r, "/stream") || strings.HasSuffix(r, "/events") {
					continue
				}
				h := m.GetHistogram()
				c.observed += h.GetSampleCount()
				for _, bk := range h.GetBucket() {
					c.buckets[bk.GetUpperBound()] += bk.GetCumulativeCount()
				}
			}
		}
	}
	return c
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// p99 is the upper bound of the bucket holding the 99th percentile of the
// durations observed between prev and cur, in seconds: an upper bound, as
// precise as the buckets are fine; 0 with no requests.
func p99(prev, cur counts) float64 {
	total := cur.observed - min(prev.observed, cur.observed)
	if total == 0 {
		return 0
	}
	target := uint64(math.Ceil(0.99 * float64(total)))
	best, last := math.Inf(1), 0.0
	for bound, n := range cur.buckets {
		if !math.IsInf(bound, 1) {
			last = max(last, bound)
		}
		if n-min(prev.buckets[bound], n) >= target && bound < best {
			best = bound
		}
	}
	if math.IsInf(best, 1) {
		return last // past the last bucket: at least this
	}
	return best
}

func nonNegative(v float64) float64 { return max(v, 0) }
