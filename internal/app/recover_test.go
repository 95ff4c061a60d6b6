package app

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/riverqueue/river"

	"github.com/photofeed/photofeed/internal/dirlock"
	"github.com/photofeed/photofeed/internal/jobs"
)

// A node recovers a dead run's jobs at start only when no other process
// serves its data directory: a live peer's running job is its own.
func TestRecoverOnlyWhenAlone(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	db, err := openDatabase(ctx, dbConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := jobs.New(ctx, jobs.Config{DB: db.parts[0].writer,
		Register: func(w *river.Workers) { river.AddWorker(w, &thumbnailWorker{}) }})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.parts[0].writer.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.InsertTx(ctx, tx, thumbnailArgs{PostID: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	running := func() int {
		list, err := q.List(ctx, "running", 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	peer, err := dirlock.Acquire(filepath.Join(dir, "serve.lock"))
	if err != nil {
		t.Fatal(err)
	}
	peer.Share()
	lock, err := recoverAlone(ctx, dir, db, []*jobs.Client{q}, log)
	if err != nil {
		t.Fatal(err)
	}
	lock.Close()
	if running() != 1 {
		t.Fatal("a job was taken from a live peer")
	}

	peer.Close() // the peer dies
	lock, err = recoverAlone(ctx, dir, db, []*jobs.Client{q}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if running() != 0 {
		t.Fatal("the dead run's job is still running")
	}
	if list, _ := q.List(ctx, "available", 10); len(list) != 1 {
		t.Fatalf("available: %+v, want the rescued job", list)
	}
}
