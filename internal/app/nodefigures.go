package app

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/jobs"
)

// nodeFigures are the series of an api or worker node's own work, apart
// from its requests: what the services' hooks report as it happens. What
// is read at scrape time is in backlogCollector and cacheCollector.
type nodeFigures struct {
	idempotency *prometheus.CounterVec
	jobs        *prometheus.CounterVec
	jobSeconds  *prometheus.HistogramVec
	fanOut      prometheus.Histogram
	hashWait    prometheus.Histogram
	decodeWait  prometheus.Histogram
	checkWait   prometheus.Histogram
}

// waitBuckets span a wait from nothing (the usual case: a free slot) to
// the longest bound a wait has (30 s for the decode budget).
var waitBuckets = []float64{.0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newNodeFigures() *nodeFigures {
	f := &nodeFigures{
		idempotency: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "photofeed_idempotency_requests_total",
			Help: "POSTs with an Idempotency-Key, by outcome: executed (first with its key), replayed (recorded answer), " +
				"recovered (rebuilt from its committed write), mismatch (key reused for another request, 422), " +
				"in_progress (first still running, 409), lost (committed, answer not kept, 409).",
		}, []string{"outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "photofeed_job_attempts_total",
			Help: "Attempts at background jobs worked on this node, by kind and outcome (completed, failed, cancelled, snoozed, panicked).",
		}, []string{"kind", "outcome"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "photofeed_job_duration_seconds",
			Help:    "How long each attempt at a background job ran on this node, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}, []string{"kind"}),
		fanOut: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "photofeed_fanout_latency_seconds",
			Help: "From a post's event being created (its write committing) to the post being in its followers' timelines: " +
				"the outbox relay, the bus and the fan-out together.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "photofeed_password_hash_wait_seconds",
			Help:    "How long each password hash waited for memory of the node's argon2 budget (--hash-memory); refused ones wait their whole bound.",
			Buckets: waitBuckets,
		}),
		decodeWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "photofeed_image_decode_wait_seconds",
			Help:    "How long each image waited for the node's decode budget (--decode-memory) before its variants were made.",
			Buckets: waitBuckets,
		}),
		checkWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "photofeed_image_check_wait_seconds",
			Help:    "How long each upload waited for a slot to check its image; refused ones (503) wait their whole bound.",
			Buckets: waitBuckets,
		}),
	}
	for _, o := range idempotency.Outcomes { // each shows, at 0 until it happens
		f.idempotency.WithLabelValues(o)
	}
	return f
}

func (f *nodeFigures) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.idempotency, f.jobs, f.jobSeconds, f.fanOut, f.hashWait, f.decodeWait, f.checkWait}
}

// The hooks the services are built with.

func (f *nodeFigures) idempotencyOutcome(outcome string) {
	f.idempotency.WithLabelValues(outcome).Inc()
}

func (f *nodeFigures) jobWorked(kind string, took time.Duration, outcome string) {
	f.jobs.WithLabelValues(kind, outcome).Inc()
	f.jobSeconds.WithLabelValues(kind).Observe(took.Seconds())
}

// showJobs makes the job series of kinds show, at 0, before the node
// works a job of theirs: a rate over a counter that appears at 1 misses
// that first attempt, and the dashboard has a series to draw from the
// start.
func (f *nodeFigures) showJobs(kinds ...string) {
	for _, kind := range kinds {
		for _, o := range []string{jobs.OutcomeCompleted, jobs.OutcomeFailed, jobs.OutcomeCancelled, jobs.OutcomeSnoozed, jobs.OutcomePanicked} {
			f.jobs.WithLabelValues(kind, o)
		}
		f.jobSeconds.WithLabelValues(kind)
	}
}

func (f *nodeFigures) fannedOut(d time.Duration)    { f.fanOut.Observe(d.Seconds()) }
func (f *nodeFigures) hashWaited(d time.Duration)   { f.hashWait.Observe(d.Seconds()) }
func (f *nodeFigures) decodeWaited(d time.Duration) { f.decodeWait.Observe(d.Seconds()) }
func (f *nodeFigures) checkWaited(d time.Duration)  { f.checkWait.Observe(d.Seconds()) }

// nodeCollectors are the series an api or worker node serves besides the
// runtime's and the replicas': its requests, its work as it happens, and
// what is read at scrape time.
func nodeCollectors(ad *adapters, svc *services, nf *nodeFigures, shed *shedding, figures *httpFigures,
	restarts prometheus.Collector) []prometheus.Collector {
	out := append(shed.collectors(), figures.collectors()...)
	out = append(out, restarts)
	out = append(out, nf.collectors()...)
	var parts []backlogPart
	for _, p := range ad.db.parts {
		name := p.name
		if name == "" {
			name = "main"
		}
		parts = append(parts, backlogPart{name: name, outbox: p.outbox, jobs: jobCounts(p.counts)})
	}
	out = append(out, newBacklogCollector(parts, ad.bus.Lags))
	if ad.stores.caches != nil {
		out = append(out, newCacheCollector(ad.stores.caches))
	}
	if svc.live != nil {
		out = append(out, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "photofeed_live_streams",
			Help: "Live feed event streams (GET /v2/feed/stream) open on this node.",
		}, func() float64 { return float64(svc.live.Streams()) }))
	}
	return out
}
