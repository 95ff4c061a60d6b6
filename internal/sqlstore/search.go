package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/photofeed/photofeed/internal/search"
)

// SearchSource implements search.Source: users and posts in id order, for
// rebuilding the search index from the primary store.
type SearchSource struct{ cluster }

var _ search.Source = (*SearchSource)(nil)

func NewSearchSource(sh Shards) *SearchSource { return &SearchSource{cluster{sh}} }

func (s *SearchSource) UsersAfter(ctx context.Context, afterID int64, limit int) ([]search.UserDoc, error) {
	rows, err := s.sh.Main().Query(ctx, `SELECT id, username, display_name FROM users WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("users for reindex: %w", err)
	}
	defer rows.Close()
	var out []search.UserDoc
	for rows.Next() {
		var u search.UserDoc
		if err := rows.Scan(&u.ID, &u.Username, &u.DisplayName); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// PostsAfter merges the shards: each database answers once, for all the
// shards it holds, and the pages are merged by id.
func (s *SearchSource) PostsAfter(ctx context.Context, afterID int64, limit int) ([]search.PostDoc, error) {
	var out []search.PostDoc
	for h, db := range s.sh.Databases() {
		var parts []string
		var args []any
		for _, prefix := range s.prefixesOf(h) {
			parts = append(parts, qualify(`SELECT * FROM (SELECT id, author_id, caption FROM shard.posts
				WHERE id > ? AND status = 'ready' ORDER BY id LIMIT ?) AS x`, prefix))
			args = append(args, afterID, limit)
		}
		if len(parts) == 0 {
			continue
		}
		args = append(args, limit)
		rows, err := db.Query(ctx, `SELECT * FROM (`+strings.Join(parts, " UNION ALL ")+`) AS posts ORDER BY id LIMIT ?`, args...)
		if err != nil {
			return nil, fmt.Errorf("posts for reindex: %w", err)
		}
		for rows.Next() {
			var p search.PostDoc
			if err := rows.Scan(&p.ID, &p.AuthorID, &p.Caption); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b search.PostDoc) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(len(out), limit)], nil
}
