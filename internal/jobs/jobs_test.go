package jobs_test

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/testenv"
)

type flakyArgs struct{}

func (flakyArgs) Kind() string { return "flaky" }

type flakyWorker struct {
	river.WorkerDefaults[flakyArgs]
	fail *atomic.Bool
	runs *atomic.Int32
}

func (w *flakyWorker) Work(ctx context.Context, job *river.Job[flakyArgs]) error {
	w.runs.Add(1)
	if w.fail.Load() {
		return errors.New("the dependency is down")
	}
	return nil
}

type noMaintenance struct{}

func (noMaintenance) DeleteExpiredIdempotencyKeys(context.Context, time.Time) (int, error) {
	return 0, nil
}
func (noMaintenance) DeleteExpiredSessions(context.Context, time.Time) (int, error) { return 0, nil }
func (noMaintenance) DeleteSentOutbox(context.Context, time.Time) (int, error)      { return 0, nil }
func (noMaintenance) RemoveOrphanBlobs(context.Context, time.Time) (int, error)     { return 0, nil }

// insertFlaky enqueues one flaky job of a single attempt, as a write's
// transaction would.
func insertFlaky(t *testing.T, ctx context.Context, db *sqlite.DB, c *jobs.Client) {
	t.Helper()
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.InsertTx(ctx, tx, flakyArgs{}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// A job that exhausts its attempts is discarded (a dead letter), listed as
// such, and runs again when retried.
func TestDeadLetterListAndRetry(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var fail atomic.Bool
	var runs atomic.Int32
	fail.Store(true)
	var mu sync.Mutex
	observed := map[string]int{} // "kind outcome"
	c, err := jobs.New(t.Context(), jobs.Config{DB: db.Writer(), Maintenance: noMaintenance{}, Poll: 10 * time.Millisecond,
		Register: func(w *river.Workers) { river.AddWorker(w, &flakyWorker{fail: &fail, runs: &runs}) },
		Observe: func(kind string, took time.Duration, outcome string) {
			mu.Lock()
			defer mu.Unlock()
			if took <= 0 {
				t.Errorf("%s took %s", kind, took)
			}
			observed[kind+" "+outcome]++
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	insertFlaky(t, ctx, db, c)
	var dead []jobs.Job
	testenv.Eventually(t, "the job discarded", 15*time.Second, func() bool {
		dead, _ = c.List(ctx, "discarded", 10)
		return len(dead) == 1
	})
	if n, err := jobs.CountByState(ctx, db.Writer()); err != nil || n["discarded"] != 1 {
		t.Fatalf("counted %v (%v); want the one discarded job", n, err)
	}
	if dead[0].Kind != "flaky" || dead[0].LastError != "the dependency is down" || dead[0].Attempt != 1 {
		t.Fatalf("dead letter %+v", dead[0])
	}
	fail.Store(false)
	if _, err := c.Retry(ctx, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the retried job completed", 15*time.Second, func() bool {
		done, _ := c.List(ctx, "completed", 50)
		for _, j := range done {
			if j.ID == dead[0].ID {
				return true
			}
		}
		return false
	})
	if runs.Load() != 2 {
		t.Fatalf("worker ran %d times, want 2", runs.Load())
	}
	if _, err := c.Retry(ctx, 999_999); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("retry of an unknown job: %v", err)
	}
	if _, err := c.List(ctx, "exploded", 10); !errors.Is(err, jobs.ErrState) {
		t.Fatalf("unknown state: %v", err)
	}
	// The periodic cleanups ran once on start, on the maintenance queue.
	testenv.Eventually(t, "the periodic cleanups", 15*time.Second, func() bool {
		list, _ := c.List(ctx, "completed", 50)
		n := 0
		for _, j := range list {
			if j.Kind == "cleanup" && j.Queue == jobs.QueueMaintenance {
				n++
			}
		}
		return n == 4
	})
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"flaky failed": 1, "flaky completed": 1, "cleanup completed": 4}; !maps.Equal(observed, want) {
		t.Fatalf("observed %v, want %v", observed, want)
	}
}

// Two databases' queues as one: a list merges them and names each job's
// database; a retry goes to the database named, where the id is the job's.
func TestSetListsAndRetriesPerDatabase(t *testing.T) {
	set := &jobs.Set{}
	var fail atomic.Bool
	var runs atomic.Int32
	fail.Store(true)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, name := range []string{"one", "two"} {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), name+".db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		c, err := jobs.New(t.Context(), jobs.Config{DB: db.Writer(), Maintenance: noMaintenance{}, Poll: 10 * time.Millisecond, NoPeriodic: true,
			Register: func(w *river.Workers) { river.AddWorker(w, &flakyWorker{fail: &fail, runs: &runs}) }})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		defer func() { cancel(); <-done }()
		insertFlaky(t, ctx, db, c)
		set.Add(name, c)
	}
	var dead []jobs.Job
	testenv.Eventually(t, "both jobs discarded", 15*time.Second, func() bool {
		dead, _ = set.List(ctx, "discarded", 10)
		return len(dead) == 2
	})
	if dead[0].ID != dead[1].ID || dead[0].Database == dead[1].Database {
		t.Fatalf("want the same id in two databases: %+v", dead)
	}
	fail.Store(false)
	if j, err := set.Retry(ctx, "two", dead[0].ID); err != nil || j.Database != "two" {
		t.Fatalf("retry in two: %+v, %v", j, err)
	}
	testenv.Eventually(t, "the job of two completed", 15*time.Second, func() bool {
		done, _ := set.List(ctx, "completed", 10)
		return len(done) == 1 && done[0].Database == "two"
	})
	if still, _ := set.List(ctx, "discarded", 10); len(still) != 1 || still[0].Database != "one" {
		t.Fatalf("still discarded: %+v", still)
	}
	if _, err := set.Retry(ctx, "three", 1); !errors.Is(err, jobs.ErrDatabase) {
		t.Fatalf("retry in an unknown database: %v", err)
	}
}
