package chaos

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
)

// orphans lists the blobs under dir that no post refers to. A post not
// ready has no image URLs yet, so its blobs count here until it is: the
// audit's Settle waits for that.
func orphans(dir string, posts map[string]listedPost, errs *[]string) []string {
	used := map[string]bool{}
	for _, p := range posts {
		if p.Images != nil {
			for _, u := range []string{p.Images.Thumb, p.Images.Large, p.Images.Original} {
				used[mediaKey(u)] = true
			}
		}
	}
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// A temporary file is a write in progress (or one a crash cut
		// short, which the store's sweeper removes): no blob yet.
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if !used[d.Name()] {
			out = append(out, d.Name())
		}
		return nil
	})
	if err != nil {
		*errs = append(*errs, fmt.Sprintf("walk %s: %v", dir, err))
	}
	return out
}

// jobsLeft lists, by schema and state, the background jobs in the
// database that are not finished: running, waiting to run or to be
// retried, or discarded (a dead letter).
func jobsLeft(ctx context.Context, dbURL string, errs *[]string) []string {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		*errs = append(*errs, fmt.Sprintf("jobs: connect: %v", err))
		return nil
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'river_job'`)
	if err != nil {
		*errs = append(*errs, fmt.Sprintf("jobs: find tables: %v", err))
		return nil
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		*errs = append(*errs, fmt.Sprintf("jobs: find tables: %v", err))
		return nil
	}
	var out []string
	for _, s := range schemas {
		q := fmt.Sprintf(`SELECT state::text, kind, count(*) FROM %s.river_job
			WHERE state IN ('running', 'available', 'retryable', 'discarded', 'pending') GROUP BY 1, 2 ORDER BY 1, 2`,
			pgx.Identifier{s}.Sanitize())
		rows, err := conn.Query(ctx, q)
		if err != nil {
			*errs = append(*errs, fmt.Sprintf("jobs in %s: %v", s, err))
			continue
		}
		var state, kind string
		var n int
		_, err = pgx.ForEachRow(rows, []any{&state, &kind, &n}, func() error {
			out = append(out, fmt.Sprintf("%s.%s %s ×%d", s, kind, state, n))
			return nil
		})
		if err != nil {
			*errs = append(*errs, fmt.Sprintf("jobs in %s: %v", s, err))
		}
	}
	return out
}

// thumbnailJobs describes the thumbnail jobs of a post, in every schema
// holding a job table: what a post left processing needs explained.
func thumbnailJobs(ctx context.Context, dbURL, postID string) string {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Sprintf("jobs: connect: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'river_job'`)
	if err != nil {
		return fmt.Sprintf("jobs: find tables: %v", err)
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Sprintf("jobs: find tables: %v", err)
	}
	var out []string
	for _, s := range schemas {
		q := fmt.Sprintf(`SELECT id, state::text, attempt, max_attempts, coalesce(errors::text, '') FROM %s.river_job
			WHERE kind = 'thumbnails' AND args->>'post_id' = $1 ORDER BY id`, pgx.Identifier{s}.Sanitize())
		rows, err := conn.Query(ctx, q, postID)
		if err != nil {
			out = append(out, fmt.Sprintf("jobs in %s: %v", s, err))
			continue
		}
		var id int64
		var state, errs string
		var attempt, maxAttempts int
		_, err = pgx.ForEachRow(rows, []any{&id, &state, &attempt, &maxAttempts, &errs}, func() error {
			line := fmt.Sprintf("job %d %s, attempt %d of %d", id, state, attempt, maxAttempts)
			if errs != "" {
				if len(errs) > 400 {
					errs = errs[:400] + "…"
				}
				line += ", errors " + errs
			}
			out = append(out, line)
			return nil
		})
		if err != nil {
			out = append(out, fmt.Sprintf("jobs in %s: %v", s, err))
		}
	}
	if len(out) == 0 {
		return "no thumbnail job"
	}
	return strings.Join(out, "; ")
}
