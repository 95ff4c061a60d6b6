package jobs

import (
	"context"
	"slices"

	"github.com/photofeed/photofeed/internal/errkind"
)

// Set is every database's job queue as administrators see them: each
// database keeps the jobs its own writes enqueued, so a list merges them
// and a retry names the database (job ids are per database).
type Set struct {
	names   []string
	clients []*Client
}

// Add puts a database's queue in the set; the first is the default.
func (s *Set) Add(database string, c *Client) {
	s.names = append(s.names, database)
	s.clients = append(s.clients, c)
}

// ErrDatabase is returned for a database the set does not have.
var ErrDatabase = &errkind.Error{Kind: errkind.Malformed, Message: "unknown database",
	Fields: map[string]string{"database": "must name a database of the shard map (see the jobs' database field)"}}

// List returns up to limit jobs in state from every database, newest
// first.
func (s *Set) List(ctx context.Context, state string, limit int) ([]Job, error) {
	out := []Job{} // an empty list, not null
	for i, c := range s.clients {
		list, err := c.List(ctx, state, limit)
		if err != nil {
			return nil, err
		}
		for j := range list {
			list[j].Database = s.names[i]
		}
		out = append(out, list...)
	}
	slices.SortStableFunc(out, func(a, b Job) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out[:min(len(out), limit)], nil
}

// Retry puts job id of database ("": the first) back in line.
func (s *Set) Retry(ctx context.Context, database string, id int64) (Job, error) {
	i := 0
	if database != "" {
		if i = slices.Index(s.names, database); i < 0 {
			return Job{}, ErrDatabase
		}
	}
	j, err := s.clients[i].Retry(ctx, id)
	j.Database = s.names[i]
	return j, err
}
