// Package jobs runs photofeed's background work on River, in the same
// database as the data (SQLite now, PostgreSQL with the scale-out store), so
// a job can be inserted in the transaction that needs it. User-facing jobs
// run on the default queue at high priority; maintenance runs on its own
// queue at low priority. Periodic jobs run on the elected leader only, so
// with several workers they are active-passive.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/resilience"
)

// Queues and priorities.
const (
	QueueMaintenance = "maintenance"
	PriorityUser     = 1
	PriorityMaint    = 4
)

// How long a job may run, and when one whose worker died runs again.
//
// A thumbnail job takes about a second for a 12 MP photo on 2 cores: a
// minute is far beyond it, yet short enough that a hung job gives its slot
// back soon (its context is cancelled). A cleanup sweep is another matter:
// the orphan sweep looks up every blob of the media store, minutes for a
// large one, so the cleanup worker has CleanupTimeout of its own. River's
// rescuer goes by each kind's timeout as well as RescueAfter (it leaves a
// job alone until both have passed), so a long sweep neither holds up the
// thumbnails' bound nor is rescued while it runs; a sweep whose worker
// died runs again CleanupTimeout after it began, or at once on a lone
// node's restart. A job still marked running RescueAfter after its attempt
// began is taken to have lost its worker (a crash, kill -9, a lost host)
// and is retried; the half minute past JobTimeout keeps a live worker
// that is finishing a job it was told to stop from seeing it run twice.
// River's rescuer looks every RescueInterval (its own fixed period), so a
// job whose worker died runs again within RescueBound when other workers
// live on; a node alone on its database does not wait at all on restart
// (see RescueOrphans). River's default rescue, an hour, left uploads
// "processing" for that long after a crash.
const (
	JobTimeout     = time.Minute
	RescueAfter    = JobTimeout + 30*time.Second
	RescueInterval = 30 * time.Second
	// RescueBound is RescueAfter, a rescuer period and a scheduler pass
	// (5 s) moving the retry to the queue, with slack: 130 s. A leader
	// that died with the worker is replaced within 21 s, inside
	// RescueAfter; the retry's back-off (at most 65 s after the attempt
	// for the 7th of 8) has passed by then too.
	RescueBound = RescueAfter + RescueInterval + 10*time.Second

	// CleanupTimeout is when River cancels a cleanup sweep and its rescuer
	// may take it for the job of a dead worker. The sweep itself stops
	// cleanupSlack sooner, as a thumbnail stops at JobTimeout, half a
	// minute before RescueAfter: stopping, it is not rescued and run twice.
	CleanupTimeout = 30 * time.Minute
	cleanupSlack   = 30 * time.Second
)

// Maintenance is the cleanup work the periodic jobs do.
type Maintenance interface {
	DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time) (int, error)
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	DeleteSentOutbox(ctx context.Context, before time.Time) (int, error)
	RemoveOrphanBlobs(ctx context.Context, olderThan time.Time) (int, error)
}

// cleanupArgs names one cleanup; they share a worker.
type cleanupArgs struct {
	What string `json:"what"`
}

func (cleanupArgs) Kind() string { return "cleanup" }

func (cleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, Priority: PriorityMaint, MaxAttempts: 5}
}

type cleanupWorker struct {
	river.WorkerDefaults[cleanupArgs]
	m   Maintenance
	log *slog.Logger
}

func (w *cleanupWorker) Timeout(*river.Job[cleanupArgs]) time.Duration { return CleanupTimeout }

func (w *cleanupWorker) Work(ctx context.Context, job *river.Job[cleanupArgs]) error {
	ctx, cancel := context.WithTimeout(ctx, CleanupTimeout-cleanupSlack)
	defer cancel()
	now := time.Now()
	var n int
	var err error
	switch job.Args.What {
	case "idempotency_keys":
		n, err = w.m.DeleteExpiredIdempotencyKeys(ctx, now)
	case "sessions":
		n, err = w.m.DeleteExpiredSessions(ctx, now)
	case "outbox":
		n, err = w.m.DeleteSentOutbox(ctx, now.Add(-24*time.Hour))
	case "orphan_blobs":
		n, err = w.m.RemoveOrphanBlobs(ctx, now.Add(-time.Hour))
	default:
		return river.JobCancel(fmt.Errorf("unknown cleanup %q", job.Args.What))
	}
	if err != nil {
		return fmt.Errorf("cleanup %s: %w", job.Args.What, err)
	}
	if n > 0 {
		w.log.InfoContext(ctx, "cleanup", "what", job.Args.What, "removed", n)
	}
	return nil
}

// Config configures New.
type Config struct {
	DB          *sql.DB // the database's writer pool (SQLite allows one writer)
	Dialect     string  // "sqlite" (default) or "postgres"
	Maintenance Maintenance
	Logger      *slog.Logger
	// Register adds the application's workers (user-facing jobs).
	Register func(*river.Workers)
	// NoPeriodic leaves the periodic cleanups to another database's queue.
	NoPeriodic bool
	// Poll is how often idle queues look for work (default 100ms: SQLite
	// has no notifications).
	Poll time.Duration
	// StopGrace is how long running jobs get to finish once Run's context
	// ends (default 10s).
	StopGrace time.Duration
	// Observe, if set, is told of every attempt at a job this client
	// works: its kind, how long it ran, and one of the Outcome constants.
	Observe func(kind string, took time.Duration, outcome string)
}

// Client is River on photofeed's database.
type Client struct {
	river *river.Client[*sql.Tx]
	grace time.Duration
}

// New migrates River's tables and makes a client; Start runs it.
func New(ctx context.Context, cfg Config) (*Client, error) {
	var driver riverdriver.Driver[*sql.Tx] = riversqlite.New(cfg.DB)
	if cfg.Dialect == "postgres" {
		driver = riverdatabasesql.New(cfg.DB)
	}
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &cleanupWorker{m: cfg.Maintenance, log: cfg.Logger})
	if cfg.Register != nil {
		cfg.Register(workers)
	}
	var periodic []*river.PeriodicJob
	for _, c := range []struct {
		what  string
		every time.Duration
	}{{"idempotency_keys", 10 * time.Minute}, {"sessions", time.Hour}, {"outbox", 10 * time.Minute}, {"orphan_blobs", time.Hour}} {
		if cfg.NoPeriodic {
			break
		}
		args := cleanupArgs{What: c.what}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(c.every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "cleanup_" + c.what, RunOnStart: true}))
	}
	var middleware []rivertype.Middleware
	if cfg.Observe != nil {
		middleware = append(middleware, &observer{observe: cfg.Observe})
	}
	rc, err := river.NewClient(driver, &river.Config{
		Middleware: middleware,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: 2},
			QueueMaintenance:   {MaxWorkers: 1},
		},
		Workers:           workers,
		PeriodicJobs:      periodic,
		RetryPolicy:       RetryPolicy{Backoff: resilience.Backoff{Base: time.Second, Max: 10 * time.Minute}},
		MaxAttempts:       8,
		FetchPollInterval: cfg.Poll,
		FetchCooldown:     cfg.Poll / 4,
		Logger:            cfg.Logger,

		// A job whose worker died runs again within RescueBound.
		JobTimeout:           JobTimeout,
		RescueStuckJobsAfter: RescueAfter,
		SoftStopTimeout:      cfg.StopGrace,
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return &Client{river: rc, grace: cfg.StopGrace}, nil
}

// Run works jobs until ctx ends, then stops: running jobs get the grace
// to finish, and those still running after it are cancelled and handed
// back to the queue, for another node to run at once.
func (c *Client) Run(ctx context.Context) error {
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	<-ctx.Done()
	// River stops by itself when Start's context ends, softly since
	// SoftStopTimeout is set (without it, the end of that context is a
	// hard stop: every running job cut short at once, to run again with
	// an attempt used up, its work perhaps done). Stop waits for that,
	// with time for the cancelled jobs to be handed back.
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.grace+5*time.Second)
	defer cancel()
	return c.river.Stop(stop)
}

// InsertTx enqueues a job inside the caller's transaction: it runs only if
// the transaction commits.
func (c *Client) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := c.river.InsertTx(ctx, tx, args, opts)
	return err
}

// Job is a job as the admin API and CLI show it.
type Job struct {
	ID          int64           `json:"id,string"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       string          `json:"state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Args        json.RawMessage `json:"args"`
	LastError   string          `json:"last_error,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"`
	// Database names the database whose queue holds the job, where there
	// are several (ids are per database).
	Database string `json:"database,omitempty"`
}

var states = map[string]rivertype.JobState{
	"available": rivertype.JobStateAvailable, "running": rivertype.JobStateRunning, "retryable": rivertype.JobStateRetryable,
	"scheduled": rivertype.JobStateScheduled, "completed": rivertype.JobStateCompleted, "cancelled": rivertype.JobStateCancelled,
	"discarded": rivertype.JobStateDiscarded,
}

// ErrState is returned for an unknown job state.
var ErrState = &errkind.Error{Kind: errkind.Malformed, Message: "unknown job state",
	Fields: map[string]string{"state": "must be available, running, retryable, scheduled, completed, cancelled or discarded"}}

// ErrNotFound is returned for an unknown job id.
var ErrNotFound = errkind.New(errkind.NotFound, "no such job")

// List returns up to limit jobs in state, newest first. Discarded jobs are
// the dead letters: they used up their attempts.
func (c *Client) List(ctx context.Context, state string, limit int) ([]Job, error) {
	st, ok := states[state]
	if !ok {
		return nil, ErrState
	}
	res, err := c.river.JobList(ctx, river.NewJobListParams().States(st).First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc))
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		v := Job{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
			Args: j.EncodedArgs, CreatedAt: j.CreatedAt, FinalizedAt: j.FinalizedAt}
		if n := len(j.Errors); n > 0 {
			v.LastError = j.Errors[n-1].Error
		}
		out = append(out, v)
	}
	return out, nil
}

// Retry puts a job back in line to run as soon as possible.
func (c *Client) Retry(ctx context.Context, id int64) (Job, error) {
	j, err := c.river.JobRetry(ctx, id)
	if err != nil {
		if errors.Is(err, rivertype.ErrNotFound) {
			return Job{}, ErrNotFound
		}
		return Job{}, fmt.Errorf("retry job %d: %w", id, err)
	}
	return Job{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		Args: j.EncodedArgs, CreatedAt: j.CreatedAt}, nil
}
