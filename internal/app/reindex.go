package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/photofeed/photofeed/internal/bleveindex"
	"github.com/photofeed/photofeed/internal/progress"
	"github.com/photofeed/photofeed/internal/search"
)

// reindex rebuilds the search index from the primary store: what a new
// search node runs first, and the repair for an index that fell behind.
func reindex(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	db, err := openDatabase(ctx, databaseConfig(cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	dir := filepath.Join(cfg.DataDir, "search.bleve")
	// Opening first fails fast if a running server holds the index.
	idx, err := bleveindex.Open(dir)
	if err != nil {
		return fmt.Errorf("reindex: %w (is photofeed running? stop it first)", err)
	}
	idx.Close()
	if idx, err = bleveindex.Create(dir); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	defer idx.Close()
	start := time.Now()
	// How many there are is not known without counting them first: the
	// meter counts up.
	meter := progress.New(stderr, progress.Terminal(stderr), "reindex: users and posts", -1)
	users, posts, err := search.Reindex(ctx, db.SearchSource(), idx, func(users, posts int) {
		meter.Note(fmt.Sprintf("%d users, %d posts", users, posts))
		meter.Set(int64(users + posts))
	})
	meter.Done()
	if err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	fmt.Fprintf(stdout, "reindexed %d users and %d posts in %s\n", users, posts, time.Since(start).Round(time.Millisecond))
	return nil
}
