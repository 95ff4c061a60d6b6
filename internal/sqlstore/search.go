package sqlstore

import (
	"context"
	"fmt"

	"github.com/photofeed/photofeed/internal/search"
)

// SearchSource implements search.Source: users and posts in id order, for
// rebuilding the search index from the primary store.
type SearchSource struct{ db Conn }

var _ search.Source = (*SearchSource)(nil)

func NewSearchSource(db Conn) *SearchSource { return &SearchSource{db} }

func (s *SearchSource) UsersAfter(ctx context.Context, afterID int64, limit int) ([]search.UserDoc, error) {
	rows, err := s.db.Query(ctx, `SELECT id, username, display_name FROM users WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
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

func (s *SearchSource) PostsAfter(ctx context.Context, afterID int64, limit int) ([]search.PostDoc, error) {
	rows, err := s.db.Query(ctx, `SELECT id, author_id, caption FROM posts WHERE id > ? AND status = 'ready' ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("posts for reindex: %w", err)
	}
	defer rows.Close()
	var out []search.PostDoc
	for rows.Next() {
		var p search.PostDoc
		if err := rows.Scan(&p.ID, &p.AuthorID, &p.Caption); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
