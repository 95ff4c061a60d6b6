package app

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/photofeed/photofeed/cache"
	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/natsbus"
)

// scrapeTimeout bounds each query a scrape makes: a slow database or bus
// leaves its series out of one scrape rather than holding it up.
const scrapeTimeout = time.Second

// jobCountEvery is how long a count of a job queue serves scrapes: the
// count is a GROUP BY over River's whole table, which several Prometheus
// servers, or a short scrape interval, would otherwise run back to back.
const jobCountEvery = 10 * time.Second

// unsentCounter is the outbox's count of events not yet relayed.
type unsentCounter interface {
	Unsent(ctx context.Context) (int64, error)
}

// backlogPart is one database as the backlog collector reads it.
type backlogPart struct {
	name   string // the database's label: "main" where there is one
	outbox unsentCounter
	jobs   func(ctx context.Context) (map[string]int64, error) // the queue's jobs by state
}

// jobCounts counts the jobs of the queue in db, where counting reads:
// SQLite's read pool, PostgreSQL's primary.
func jobCounts(db *sql.DB) func(context.Context) (map[string]int64, error) {
	return func(ctx context.Context) (map[string]int64, error) { return jobs.CountByState(ctx, db) }
}

// recentCount is the last count of one job queue, made again once it is
// jobCountEvery old. A failed count is remembered too: a table too big
// to count within scrapeTimeout is tried again after the interval, not
// at every scrape. Scrapes that come while a count runs wait for it and
// take its result.
type recentCount struct {
	mu     sync.Mutex
	at     time.Time // when the last count started; zero before the first
	counts map[string]int64
	err    error
}

func (r *recentCount) get(ctx context.Context, now func() time.Time, count func(context.Context) (map[string]int64, error)) (map[string]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A clock set back counts again rather than keeping a count for long.
	if t := now(); r.at.IsZero() || t.Sub(r.at) >= jobCountEvery || t.Before(r.at) {
		r.at = t
		r.counts, r.err = count(ctx)
	}
	return r.counts, r.err
}

// backlogCollector reports at scrape time what is waiting: each
// database's job queue by state and its unsent outbox events, and each
// consumer of the events stream's pending events. A query that fails or
// times out leaves its series out of the scrape.
type backlogCollector struct {
	parts  []backlogPart
	counts []recentCount // by part
	now    func() time.Time
	lags   func(ctx context.Context) ([]natsbus.ConsumerLag, error) // nil: no bus
	jobs   *prometheus.Desc
	unsent *prometheus.Desc
	pend   *prometheus.Desc
	acks   *prometheus.Desc
}

func newBacklogCollector(parts []backlogPart, lags func(context.Context) ([]natsbus.ConsumerLag, error)) *backlogCollector {
	return &backlogCollector{
		parts:  parts,
		counts: make([]recentCount, len(parts)),
		now:    time.Now,
		lags:   lags,
		jobs: prometheus.NewDesc("photofeed_job_queue_jobs",
			"Jobs in the database's queue by River state (available, pending, running, retryable, scheduled, completed, cancelled, discarded); "+
				"finished ones until River's cleaner removes them. Every node of a database reports the same queue. "+
				fmt.Sprintf("Counted at most once every %s, so a value may be that old; a count that takes over %s leaves the series out until the next.",
					jobCountEvery, scrapeTimeout),
			[]string{"database", "state"}, nil),
		unsent: prometheus.NewDesc("photofeed_outbox_unsent_events",
			"Events committed to the database's outbox and not yet relayed to the bus.", []string{"database"}, nil),
		pend: prometheus.NewDesc("photofeed_events_consumer_pending",
			"Events of the events stream not yet delivered to the durable consumer (NATS NumPending).", []string{"consumer"}, nil),
		acks: prometheus.NewDesc("photofeed_events_consumer_ack_pending",
			"Events delivered to the durable consumer and not yet handled (NATS NumAckPending).", []string{"consumer"}, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.unsent
	ch <- c.pend
	ch <- c.acks
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	for i, p := range c.parts {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		if counts, err := c.counts[i].get(ctx, c.now, p.jobs); err == nil {
			for _, state := range jobs.States() { // every state, 0 included: a gauge that vanishes is no gauge
				ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(counts[state]), p.name, state)
			}
		}
		cancel()
		// A deadline of its own: waiting for another scrape's count may
		// have used up most of the first.
		ctx, cancel = context.WithTimeout(context.Background(), scrapeTimeout)
		if n, err := p.outbox.Unsent(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.unsent, prometheus.GaugeValue, float64(n), p.name)
		}
		cancel()
	}
	if c.lags == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	lags, err := c.lags(ctx)
	if err != nil {
		return
	}
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(c.pend, prometheus.GaugeValue, float64(l.Pending), l.Consumer)
		ch <- prometheus.MustNewConstMetric(c.acks, prometheus.GaugeValue, float64(l.AckPending), l.Consumer)
	}
}

// cacheCollector reports the caches' hits and misses at scrape time,
// from the counts each cache keeps.
type cacheCollector struct {
	stats        func() map[cacheName]cache.Stats
	hits, misses *prometheus.Desc
}

func newCacheCollector(stats func() map[cacheName]cache.Stats) *cacheCollector {
	return &cacheCollector{
		stats: stats,
		hits: prometheus.NewDesc("photofeed_cache_hits_total",
			"Reads a cache answered from a fresh entry it held (a remembered \"not found\" included).", []string{"cache"}, nil),
		misses: prometheus.NewDesc("photofeed_cache_misses_total",
			"Reads a cache did not hold: they went to the shared level (Redis) or the store.", []string{"cache"}, nil),
	}
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.misses
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	for name, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits), string(name))
		ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses), string(name))
	}
}
