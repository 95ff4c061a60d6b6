package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/photofeed/photofeed/internal/dirlock"
	"github.com/photofeed/photofeed/internal/jobs"
)

// recoverAlone holds the data directory's lock for the life of the node
// and, when no other process serves the directory, recovers at once what
// a dead run of this node left in flight: the thumbnail and other jobs it
// was running run again, and the upload keys it held are freed for their
// retries. Without it they wait out their timeouts (jobs.RescueBound, the
// idempotency lock's minute).
//
// Only the embedded SQLite database lives in the data directory, so only
// there does "alone on the directory" mean "alone on the database"; on
// PostgreSQL other nodes may be working the same queues.
//
// It runs before the node serves or works anything, so all that is in
// flight is a dead run's.
func recoverAlone(ctx context.Context, dataDir string, db *database, queues []*jobs.Client, log *slog.Logger) (*dirlock.Lock, error) {
	started := time.Now()
	lock, err := dirlock.Acquire(filepath.Join(dataDir, "serve.lock"))
	if err != nil {
		// A file system without locks (some network mounts) costs the
		// quick recovery, not the start.
		log.WarnContext(ctx, "cannot lock the data directory: work a crashed run left in flight is recovered by the timeouts",
			"err", err, "jobs_after", jobs.RescueBound)
		return nil, nil
	}
	if !lock.Alone() {
		log.InfoContext(ctx, "another photofeed process serves this data directory: "+
			"work a crashed run left in flight is recovered by the timeouts", "jobs_after", jobs.RescueBound)
		return lock, nil
	}
	keys, err := db.Idempotency().ReleaseInFlight(ctx, started)
	if err != nil {
		lock.Close()
		return nil, err
	}
	rescued := 0
	for _, q := range queues {
		n, err := q.RescueOrphans(ctx)
		rescued += n
		if err != nil {
			lock.Close()
			return nil, fmt.Errorf("recover the previous run's jobs: %w", err)
		}
	}
	if rescued > 0 || keys > 0 {
		log.InfoContext(ctx, "recovered what the previous run left in flight", "jobs", rescued, "idempotency_keys", keys)
	}
	if err := lock.Share(); err != nil {
		lock.Close()
		return nil, err
	}
	return lock, nil
}
