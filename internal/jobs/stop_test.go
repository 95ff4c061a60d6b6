package jobs_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/sqlite"
)

type heldArgs struct{}

func (heldArgs) Kind() string { return "held" }

// heldWorker's job runs until release is closed, then reports what its
// context said: a job whose context was cancelled does not finish.
type heldWorker struct {
	river.WorkerDefaults[heldArgs]
	started chan struct{}
	release chan struct{}
}

func (w *heldWorker) Work(ctx context.Context, job *river.Job[heldArgs]) error {
	w.started <- struct{}{}
	select {
	case <-w.release:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runHeld runs a queue on a fresh database with a heldWorker and one held
// job, running when it returns. Cancelling ctx stops the queue; wait
// returns Run's error.
func runHeld(t *testing.T, ctx context.Context, grace time.Duration) (c *jobs.Client, w *heldWorker, wait func() error) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w = &heldWorker{started: make(chan struct{}, 1), release: make(chan struct{})}
	c, err = jobs.New(t.Context(), jobs.Config{DB: db.Writer(), Maintenance: noMaintenance{}, Poll: 10 * time.Millisecond,
		NoPeriodic: true, StopGrace: grace, Register: func(ws *river.Workers) { river.AddWorker(ws, w) }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tx, err := db.Writer().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.InsertTx(t.Context(), tx, heldArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.started:
	case <-time.After(15 * time.Second):
		t.Fatal("the job did not start")
	}
	return c, w, func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return")
			return nil
		}
	}
}

// A node told to stop (SIGTERM) lets the job it is running finish within
// the grace, and the job is recorded as done: not cut short and left
// "running" for the rescuer to run a second time a minute and a half on.
func TestStopLetsRunningJobFinish(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	c, w, wait := runHeld(t, ctx, 10*time.Second)
	stop()
	close(w.release)
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if done, _ := c.List(t.Context(), "completed", 10); len(done) != 1 {
		running, _ := c.List(t.Context(), "running", 10)
		retryable, _ := c.List(t.Context(), "retryable", 10)
		avail, _ := c.List(t.Context(), "available", 10)
		t.Fatalf("the job is not completed (running %+v, retryable %+v, available %+v)", running, retryable, avail)
	}
}

// A job that outlasts the grace is handed back to the queue, for another
// node to run at once: not left "running" until the rescuer sees it.
func TestStopHandsBackJobOutlastingGrace(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	c, w, wait := runHeld(t, ctx, 100*time.Millisecond)
	defer close(w.release)
	stop()
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var back []jobs.Job
	for _, state := range []string{"available", "retryable", "scheduled"} {
		list, _ := c.List(t.Context(), state, 10)
		back = append(back, list...)
	}
	if len(back) != 1 {
		running, _ := c.List(t.Context(), "running", 10)
		t.Fatalf("the job was not handed back: %+v (running %+v)", back, running)
	}
}
