package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// What became of one attempt at a job, as Config.Observe is told.
const (
	OutcomeCompleted = "completed" // the worker returned nil
	OutcomeFailed    = "failed"    // an error: retried later, or discarded after its last attempt
	OutcomeCancelled = "cancelled" // the worker gave up on it for good (river.JobCancel)
	OutcomeSnoozed   = "snoozed"   // put off without using an attempt (river.JobSnooze)
	OutcomePanicked  = "panicked"
)

// observer is the worker middleware that times each attempt and tells
// Config.Observe, so that the package stays free of any metrics library.
type observer struct {
	river.MiddlewareDefaults
	observe func(kind string, took time.Duration, outcome string)
}

var _ rivertype.WorkerMiddleware = (*observer)(nil)

func (o *observer) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	start := time.Now()
	outcome := OutcomePanicked // unless doInner returns
	defer func() { o.observe(job.Kind, time.Since(start), outcome) }()
	err = doInner(ctx)
	outcome = outcomeOf(err)
	return err
}

func outcomeOf(err error) string {
	var cancel *rivertype.JobCancelError
	var snooze *rivertype.JobSnoozeError
	switch {
	case err == nil:
		return OutcomeCompleted
	case errors.As(err, &cancel):
		return OutcomeCancelled
	case errors.As(err, &snooze):
		return OutcomeSnoozed
	}
	return OutcomeFailed
}

// CountByState counts the jobs of db's queue by state (those of States):
// one query over River's table, for a scrape. Finished jobs stay counted
// until River's cleaner removes them (a day for completed ones).
func CountByState(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT state, count(*) FROM river_job GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64, len(states))
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return out, nil
}

// States are the job states CountByState reports, for metrics to show
// each from the start.
func States() []string {
	return []string{"available", "pending", "running", "retryable", "scheduled", "completed", "cancelled", "discarded"}
}
