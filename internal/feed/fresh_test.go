package feed

import (
	"context"
	"testing"

	"github.com/photofeed/photofeed/internal/posts"
)

// lagStore counts the freshness checks; everything else is empty.
type lagStore struct {
	TimelineStore
	lags int
}

func (s *lagStore) Lag(context.Context, string) (int64, int64, error) { s.lags++; return 5, 5, nil }
func (s *lagStore) Timeline(context.Context, int64, int64, int, bool) ([]int64, bool, error) {
	return nil, true, nil
}
func (s *lagStore) FollowedCelebrities(context.Context, int64, int) ([]int64, error) { return nil, nil }

type noPostViews struct{}

func (noPostViews) ViewsByIDs(context.Context, int64, []int64) ([]posts.View, error) { return nil, nil }

// A read checks the fan-out only when this process wrote since the last
// check found it caught up, or when the reader must be checked anyway.
func TestFreshnessCheckSkippedWithoutWrites(t *testing.T) {
	var writes uint64
	mustCheck := false
	store := &lagStore{}
	s := NewService(store, noPostViews{}, nil, Config{
		Writes:    func() uint64 { return writes },
		MustCheck: func(context.Context) bool { return mustCheck },
	})
	ctx := context.Background()
	read := func() {
		if _, err := s.Home(ctx, 1, "", 20); err != nil {
			t.Fatal(err)
		}
	}
	read()
	read()
	if store.lags != 1 {
		t.Fatalf("two reads with no write between: %d checks, want 1", store.lags)
	}
	writes++
	read()
	read()
	if store.lags != 2 {
		t.Fatalf("after a write: %d checks, want 2", store.lags)
	}
	mustCheck = true
	read()
	if store.lags != 3 {
		t.Fatalf("a reader that must be checked: %d checks, want 3", store.lags)
	}
}
