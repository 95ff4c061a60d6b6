package feed

import (
	"context"
	"slices"
	"testing"

	"github.com/photofeed/photofeed/internal/cursor"
)

// sinceStore is a timeline of ids and one followed author merged at read
// time, each newest first; it pages as the real stores do.
type sinceStore struct {
	TimelineStore
	timeline, celeb []int64
}

func below(list []int64, before int64, limit int) []int64 {
	var out []int64
	for _, id := range list {
		if (before <= 0 || id < before) && len(out) < limit {
			out = append(out, id)
		}
	}
	return out
}

func (s *sinceStore) Timeline(_ context.Context, _, before int64, limit int, _ bool) ([]int64, bool, error) {
	return below(s.timeline, before, limit), true, nil
}

func (s *sinceStore) FollowedCelebrities(context.Context, int64, int) ([]int64, error) {
	return []int64{42}, nil
}

func (s *sinceStore) RecentByAuthor(_ context.Context, _, before int64, limit int) ([]int64, error) {
	return below(s.celeb, before, limit), nil
}

// newestFirst lists from..to, newest first.
func newestFirst(from, to int64) []int64 {
	var out []int64
	for id := to; id >= from; id-- {
		out = append(out, id)
	}
	return out
}

func TestSinceReturnsWhatIsNewerOldestFirst(t *testing.T) {
	for _, c := range []struct {
		name            string
		timeline, celeb []int64
		after           int64
		want            []int64
	}{
		{"nothing newer", newestFirst(1, 10), nil, 10, nil},
		{"a few newer", newestFirst(1, 10), nil, 7, []int64{8, 9, 10}},
		{"merged with a celebrity's, no repeats", []int64{10, 8, 6}, []int64{10, 9, 7}, 6, []int64{7, 8, 9, 10}},
		// More than a page of the store: it pages on.
		{"across pages", newestFirst(1, 250), nil, 30, newestFirst(31, 250)},
		// More than a timeline holds: the newest cap.
		{"capped", newestFirst(1, 1000), nil, 0, newestFirst(201, 1000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewService(&sinceStore{timeline: c.timeline, celeb: c.celeb}, noPostViews{}, cursor.New([]byte("k")), Config{Cap: 800})
			got, err := s.Since(context.Background(), 1, c.after)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Since(%d) = %v…, want %d ids %v…", c.after, head(got), len(want), head(want))
			}
		})
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 5)] }
