package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/sqlite"
	"github.com/photofeed/photofeed/internal/testenv"
)

// deadRun leaves the database as a process killed while working would:
// jobs marked running, attempted ago by a client that is gone, and that
// client still the leader for an hour.
type deadRun struct {
	t  *testing.T
	db *sql.DB
	c  *jobs.Client
}

// running inserts a flaky job of maxAttempts and marks its first attempt
// as begun ago by the dead client; it returns the job's id.
func (d deadRun) running(maxAttempts int, ago time.Duration) int64 {
	d.t.Helper()
	ctx := d.t.Context()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.c.InsertTx(ctx, tx, flakyArgs{}, &river.InsertOpts{MaxAttempts: maxAttempts}); err != nil {
		d.t.Fatal(err)
	}
	var id int64
	err = tx.QueryRowContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_by = json_array('dead-client'),
		attempted_at = datetime('now', 'subsec', ?) WHERE id = (SELECT max(id) FROM river_job) RETURNING id`,
		fmt.Sprintf("-%d seconds", int(ago.Seconds()))).Scan(&id)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		d.t.Fatal(err)
	}
	return id
}

// cleanup makes the job id a cleanup sweep on the maintenance queue.
func (d deadRun) cleanup(id int64) int64 {
	d.t.Helper()
	_, err := d.db.ExecContext(d.t.Context(), `UPDATE river_job SET kind = 'cleanup', args = '{"what":"outbox"}',
		queue = ? WHERE id = ?`, jobs.QueueMaintenance, id)
	if err != nil {
		d.t.Fatal(err)
	}
	return id
}

func (d deadRun) leader() {
	d.t.Helper()
	_, err := d.db.ExecContext(d.t.Context(), `INSERT INTO river_leader (elected_at, expires_at, leader_id)
		VALUES (datetime('now', 'subsec'), datetime('now', 'subsec', '+1 hour'), 'dead-client')`)
	if err != nil {
		d.t.Fatal(err)
	}
}

func openDead(t *testing.T, runs *atomic.Int32) (*sqlite.DB, *jobs.Client, deadRun) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var fail atomic.Bool
	c, err := jobs.New(t.Context(), jobs.Config{DB: db.Writer(), Maintenance: noMaintenance{}, Poll: 10 * time.Millisecond,
		Register: func(w *river.Workers) { river.AddWorker(w, &flakyWorker{fail: &fail, runs: runs}) }})
	if err != nil {
		t.Fatal(err)
	}
	return db, c, deadRun{t: t, db: db.Writer(), c: c}
}

func run(t *testing.T, c *jobs.Client) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func jobState(t *testing.T, c *jobs.Client, id int64) (jobs.Job, bool) {
	for _, state := range []string{"available", "running", "retryable", "scheduled", "completed", "discarded", "cancelled"} {
		list, err := c.List(t.Context(), state, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range list {
			if j.ID == id {
				return j, true
			}
		}
	}
	return jobs.Job{}, false
}

// A node alone on its database, restarted after a crash, runs the jobs its
// dead run left running at once, discards the one out of attempts, and
// does not wait for the dead run's leadership to expire.
func TestRescueOrphansOnRestart(t *testing.T) {
	var runs atomic.Int32
	_, c, dead := openDead(t, &runs)
	again := dead.running(8, 2*time.Second)
	spent := dead.running(1, 2*time.Second)
	dead.leader()

	n, err := c.RescueOrphans(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("rescued %d, %v; want the 2 running jobs", n, err)
	}
	if j, _ := jobState(t, c, spent); j.State != "discarded" || j.LastError == "" {
		t.Fatalf("the job out of attempts: %+v, want discarded with the rescue's error", j)
	}
	started := time.Now()
	run(t, c)
	testenv.Eventually(t, "the orphan run again", 15*time.Second, func() bool { j, _ := jobState(t, c, again); return j.State == "completed" })
	if j, _ := jobState(t, c, again); j.Attempt != 2 || runs.Load() != 1 {
		t.Fatalf("the orphan: %+v after %d runs, want its second attempt, run once", j, runs.Load())
	}
	t.Logf("an orphan ran again %s after the restart", time.Since(started).Round(time.Millisecond))
	// The periodic cleanups run on start, on the leader: the dead one gave
	// way.
	testenv.Eventually(t, "the periodic cleanups", 15*time.Second, func() bool {
		list, _ := c.List(t.Context(), "completed", 50)
		return len(list) == 5
	})
}

// Where other workers live on, no one rescues at start: River's rescuer
// runs a job whose worker died RescueAfter after its attempt began, and
// leaves one that may still be running alone.
func TestRescuerRunsJobsOfADeadWorker(t *testing.T) {
	if jobs.RescueAfter < jobs.JobTimeout+10*time.Second || jobs.RescueBound > 150*time.Second {
		t.Fatalf("rescue after %s with a job timeout of %s, bound %s", jobs.RescueAfter, jobs.JobTimeout, jobs.RescueBound)
	}
	var runs atomic.Int32
	_, c, dead := openDead(t, &runs)
	lost := dead.running(8, jobs.RescueAfter+time.Second)
	live := dead.running(8, jobs.JobTimeout-10*time.Second)

	run(t, c)
	// The rescuer's first pass comes with leadership, within a second; the
	// scheduler queues the retry within 5 s.
	if !testenv.Poll(15*time.Second, func() bool { j, _ := jobState(t, c, lost); return j.State == "completed" }) {
		j, _ := jobState(t, c, lost)
		t.Fatalf("the job of a dead worker, %s after its attempt: %+v", jobs.RescueAfter+time.Second, j)
	}
	if j, _ := jobState(t, c, live); j.State != "running" {
		t.Fatalf("a job %s into its attempt was rescued: %+v", jobs.JobTimeout-10*time.Second, j)
	}
}

// A cleanup sweep has its own, longer time than a thumbnail: one walking
// a large media store for minutes is neither cancelled at JobTimeout nor
// taken for the job of a dead worker at RescueAfter; one running past
// CleanupTimeout is.
func TestCleanupOutlivesJobTimeout(t *testing.T) {
	if jobs.CleanupTimeout < 10*time.Minute {
		t.Fatalf("cleanup timeout %s", jobs.CleanupTimeout)
	}
	var runs atomic.Int32
	_, c, dead := openDead(t, &runs)
	lost := dead.running(8, jobs.RescueAfter+time.Second)
	sweeping := dead.cleanup(dead.running(8, jobs.RescueAfter+time.Second))
	deadSweep := dead.cleanup(dead.running(8, jobs.CleanupTimeout+time.Second))

	run(t, c)
	// The rescuer decides on all three in one pass.
	testenv.Eventually(t, "the job of a dead worker run again", 15*time.Second, func() bool { j, _ := jobState(t, c, lost); return j.State == "completed" })
	if j, _ := jobState(t, c, sweeping); j.State != "running" {
		t.Fatalf("a sweep %s into its attempt was rescued: %+v", jobs.RescueAfter+time.Second, j)
	}
	testenv.Eventually(t, "the sweep of a dead worker run again", 15*time.Second, func() bool { j, _ := jobState(t, c, deadSweep); return j.State == "completed" })
}

// The sweep's context gives it CleanupTimeout less the slack that keeps a
// sweep told to stop from being rescued while it stops, not JobTimeout.
func TestCleanupContextDeadline(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // after the client stops
	m := &deadlines{left: make(chan time.Duration, 8)}
	c, err := jobs.New(t.Context(), jobs.Config{DB: db.Writer(), Maintenance: m, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	var left time.Duration
	select {
	case left = <-m.left:
	case <-time.After(15 * time.Second):
		t.Fatal("the orphan sweep did not run on start")
	}
	if left < jobs.CleanupTimeout-time.Minute || left > jobs.CleanupTimeout {
		t.Fatalf("the sweep has %s, want about %s", left.Round(time.Second), jobs.CleanupTimeout)
	}
}

// deadlines reports how long the orphan sweep's context gives it.
type deadlines struct {
	noMaintenance
	left chan time.Duration
}

func (d *deadlines) RemoveOrphanBlobs(ctx context.Context, _ time.Time) (int, error) {
	left := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	d.left <- left
	return 0, nil
}
