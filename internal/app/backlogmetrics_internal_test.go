package app

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type noUnsent struct{}

func (noUnsent) Unsent(context.Context) (int64, error) { return 0, nil }

// countingQueue is a job queue that counts how often it is counted, and
// whether each count had a deadline within scrapeTimeout.
type countingQueue struct {
	counts   atomic.Int64
	queued   atomic.Int64
	unbound  atomic.Int64
	countErr error
}

func (q *countingQueue) count(ctx context.Context) (map[string]int64, error) {
	q.counts.Add(1)
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > scrapeTimeout {
		q.unbound.Add(1)
	}
	return map[string]int64{"available": q.queued.Load()}, q.countErr
}

// The job queue is counted at most once per jobCountEvery, however many
// scrapes come and however close together, each count bounded by
// scrapeTimeout; a scrape between counts shows the last count.
func TestJobQueueCountedOncePerInterval(t *testing.T) {
	var q countingQueue
	now := time.Unix(1_700_000_000, 0)
	var clock sync.Mutex
	c := newBacklogCollector([]backlogPart{{name: "main", outbox: noUnsent{}, jobs: q.count}}, nil)
	c.now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	advance := func(d time.Duration) { clock.Lock(); defer clock.Unlock(); now = now.Add(d) }
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	// available scrapes once and returns the available jobs it shows.
	available := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "photofeed_job_queue_jobs" {
				continue
			}
			if n := len(mf.GetMetric()); n != 8 {
				t.Fatalf("%d job queue series, want one per state", n)
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "state" && l.GetValue() == "available" {
						return m.GetGauge().GetValue()
					}
				}
			}
		}
		t.Fatal("no job queue series")
		return 0
	}

	q.queued.Store(3)
	if v := available(); v != 3 {
		t.Fatalf("first scrape: %v available, want 3", v)
	}
	// Several scrapers at once, and again just before the interval ends.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { reg.Gather() })
	}
	wg.Wait()
	q.queued.Store(5)
	advance(jobCountEvery - time.Millisecond)
	if v := available(); v != 3 {
		t.Errorf("scrape within the interval: %v available, want the remembered 3", v)
	}
	// Six scrapes so far.
	if n := q.counts.Load(); n != 1 {
		t.Errorf("%d counts within %s, want 1", n, jobCountEvery)
	}
	advance(time.Millisecond)
	if v := available(); v != 5 {
		t.Errorf("scrape once the interval is over: %v available, want the new count 5", v)
	}
	if n := q.counts.Load(); n != 2 {
		t.Errorf("%d counts over two intervals, want 2", n)
	}
	if n := q.unbound.Load(); n != 0 {
		t.Errorf("%d counts ran without a deadline within %s", n, scrapeTimeout)
	}
	if h := c.jobs.String(); !strings.Contains(h, jobCountEvery.String()) {
		t.Errorf("help does not say how old a count may be: %s", h)
	}
}

// A count that fails leaves the series out, and is not made again at
// every scrape: a queue too big to count in time is tried once per
// interval.
func TestJobQueueFailedCountWaitsForTheInterval(t *testing.T) {
	q := countingQueue{countErr: context.DeadlineExceeded}
	now := time.Unix(1_700_000_000, 0)
	c := newBacklogCollector([]backlogPart{{name: "main", outbox: noUnsent{}, jobs: q.count}}, nil)
	c.now = func() time.Time { return now }
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	for range 3 {
		if n, err := testutil.GatherAndCount(reg, "photofeed_job_queue_jobs"); err != nil || n != 0 {
			t.Fatalf("a failed count: %d series, %v; want none", n, err)
		}
	}
	if n := q.counts.Load(); n != 1 {
		t.Errorf("%d counts within the interval after a failure, want 1", n)
	}
	now = now.Add(jobCountEvery)
	q.countErr = nil
	if n, err := testutil.GatherAndCount(reg, "photofeed_job_queue_jobs"); err != nil || n != 8 {
		t.Errorf("the next interval's count: %d series, %v; want 8", n, err)
	}
}
