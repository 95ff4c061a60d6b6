package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/internal/jobs"
	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/posts"
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
}

func (w *thumbnailWorker) Work(ctx context.Context, job *river.Job[thumbnailArgs]) error {
	err := w.posts.Finish(ctx, job.Args.PostID)
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
	return c.InsertTx(ctx, tx, thumbnailArgs{PostID: postID}, nil)
}
