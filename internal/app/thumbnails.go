package app

import (
	"context"
	"errors"

	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/internal/jobs"
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

type thumbnailWorker struct {
	river.WorkerDefaults[thumbnailArgs]
	posts *posts.Service
}

func (w *thumbnailWorker) Work(ctx context.Context, job *river.Job[thumbnailArgs]) error {
	err := w.posts.Finish(ctx, job.Args.PostID)
	if errors.Is(err, posts.ErrUnprocessable) {
		return river.JobCancel(err) // the post is marked failed; retrying cannot help
	}
	return err
}
