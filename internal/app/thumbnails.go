package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/photofeed/photofeed/internal/crashpoint"
	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/tracing"
)

// thumbnailArgs asks for a processing post's variants.
type thumbnailArgs struct {
	PostID int64 `json:"post_id,string"`
}

func (thumbnailArgs) Kind() string { return "thumbnails" }

// User-facing: a person is waiting to see their photo.
func (thumbnailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Priority: jobs.PriorityUser, MaxAttempts: 8}
}

// budgetSnooze is how long a thumbnail job that could not get its share
// of the decode budget waits before it is run again.
const budgetSnooze = 2 * time.Second

type thumbnailWorker struct {
	river.WorkerDefaults[thumbnailArgs]
	posts *posts.Service
	// settled announces that a post is no longer processing, waking the
	// upload waiting for it.
	settled func(postID int64)
	// tracing continues the upload's trace, carried in the job's
	// metadata; nil traces nothing.
	tracing *tracing.Tracing
}

func (w *thumbnailWorker) Work(ctx context.Context, job *river.Job[thumbnailArgs]) (err error) {
	if w.tracing != nil {
		var span trace.Span
		ctx, span = w.tracing.Start(w.tracing.Extract(ctx, jobTrace(job.Metadata)), "thumbnails", trace.SpanKindConsumer,
			attribute.Int64("photofeed.post_id", job.Args.PostID), attribute.Int("river.attempt", job.Attempt))
		defer func() {
			var snoozed *rivertype.JobSnoozeError
			switch {
			case errors.As(err, &snoozed):
				// waiting for the decode budget is no failure
				span.AddEvent("snoozed", trace.WithAttributes(attribute.String("river.snooze", snoozed.Duration.String())))
			case err != nil:
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}()
	}
	return w.work(ctx, job)
}

func (w *thumbnailWorker) work(ctx context.Context, job *river.Job[thumbnailArgs]) error {
	err := w.posts.Finish(ctx, job.Args.PostID)
	crashpoint.Hit(crashpoint.JobWorked)
	if (err == nil || errors.Is(err, posts.ErrUnprocessable)) && w.settled != nil {
		w.settled(job.Args.PostID) // ready, failed, or (deleted, done before) nothing left to wait for
	}
	if errors.Is(err, posts.ErrUnprocessable) {
		return river.JobCancel(err) // the post is marked failed; retrying cannot help
	}
	if errors.Is(err, media.ErrBusy) {
		// The node's decode budget stayed taken: a snooze does not count
		// as an attempt, so however long a burst of large photos lasts,
		// waiting for it never uses up the job's attempts.
		return river.JobSnooze(budgetSnooze)
	}
	return err
}

// thumbnailQueues enqueues a processing post's thumbnail job on the job
// queue of the post's database, in the transaction that stores the post.
//
// It is the wiring's one late binding, because of a true cycle: the
// database needs it to store a post; each database's queue is built on
// that database's connection, so after it opens; and the queue runs the
// thumbnail worker, which needs the posts service, built on the database.
// build binds each queue as it makes it, before anything is served, and
// nothing changes it after.
type thumbnailQueues struct {
	byDB map[string]*jobs.Client // by part name ("" with one database)
	// tracing puts the upload's trace context in the job's metadata, for
	// the worker to continue; nil carries none.
	tracing *tracing.Tracing
}

func (q *thumbnailQueues) bind(database string, c *jobs.Client) {
	if q.byDB == nil {
		q.byDB = map[string]*jobs.Client{}
	}
	q.byDB[database] = c
}

func (q *thumbnailQueues) enqueue(ctx context.Context, database string, tx *sql.Tx, postID int64) error {
	c := q.byDB[database]
	if c == nil {
		return fmt.Errorf("no job queue for processing posts on database %q", database)
	}
	var opts *river.InsertOpts
	if q.tracing != nil {
		if tc := q.tracing.Map(ctx); tc != nil {
			meta, err := json.Marshal(tc)
			if err != nil {
				return fmt.Errorf("thumbnail job's trace context: %w", err)
			}
			opts = &river.InsertOpts{Metadata: meta}
		}
	}
	return c.InsertTx(ctx, tx, thumbnailArgs{PostID: postID}, opts)
}

// jobTrace is the trace context enqueue left in a job's metadata (other
// keys are River's own).
func jobTrace(metadata []byte) propagation.MapCarrier {
	var m map[string]any
	if json.Unmarshal(metadata, &m) != nil {
		return nil
	}
	carrier := propagation.MapCarrier{}
	for _, k := range []string{"traceparent", "tracestate"} {
		if v, ok := m[k].(string); ok {
			carrier[k] = v
		}
	}
	return carrier
}
