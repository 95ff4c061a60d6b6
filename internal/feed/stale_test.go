package feed

import (
	"context"
	"errors"
	"testing"

	"github.com/photofeed/photofeed/internal/cursor"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/posts"
)

// downStore answers a timeline of post 7, or fails with down when set.
type downStore struct {
	lagStore
	down error
}

func (s *downStore) Timeline(context.Context, int64, int64, int, bool) ([]int64, bool, error) {
	if s.down != nil {
		return nil, false, s.down
	}
	return []int64{7}, true, nil
}

type idViews struct{}

func (idViews) ViewsByIDs(_ context.Context, _ int64, ids []int64) ([]posts.View, error) {
	out := make([]posts.View, len(ids))
	for i, id := range ids {
		out[i].ID = id
	}
	return out, nil
}

// With the stores failing, a reader's first page is the one last served
// to them, marked stale; a reader never served, a later page, and a bad
// cursor get the error; only the newest LastPages readers are kept.
func TestHomeServesTheLastPageWhenTheStoresFail(t *testing.T) {
	store := &downStore{}
	s := NewService(store, idViews{}, cursor.New([]byte("0123456789abcdef0123456789abcdef")), Config{LastPages: 2})
	ctx := context.Background()
	for _, reader := range []int64{1, 2, 3} { // 1 is forgotten: 3 takes its place
		if p, err := s.Home(ctx, reader, "", 20); err != nil || p.Stale != nil || len(p.Posts) != 1 {
			t.Fatalf("reader %d, stores up: %+v %v", reader, p, err)
		}
	}
	store.down = errkind.New(errkind.Unavailable, "the database is unreachable")
	p, err := s.Home(ctx, 3, "", 20)
	if err != nil || !errors.Is(p.Stale, store.down) || p.AsOf.IsZero() || len(p.Posts) != 1 || p.Posts[0].ID != 7 {
		t.Fatalf("a kept reader, stores down: %+v %v, want the kept page marked stale", p, err)
	}
	if _, err := s.Home(ctx, 1, "", 20); !errors.Is(err, store.down) {
		t.Fatalf("a forgotten reader, stores down: %v, want the error", err)
	}
	if _, err := s.Home(ctx, 3, s.cursor.Encode(9), 20); !errors.Is(err, store.down) {
		t.Fatalf("a later page, stores down: %v, want the error", err)
	}
	if _, err := s.Home(ctx, 3, "forged", 20); errkind.Of(err) == errkind.Internal || errkind.Of(err) == errkind.Unavailable {
		t.Fatalf("a bad cursor, stores down: %v, want the cursor's own error", err)
	}
	left, leave := context.WithCancel(ctx)
	leave()
	store.down = context.Canceled // what a store answers a caller that left
	if p, err := s.Home(left, 3, "", 20); err == nil || p.Stale != nil {
		t.Fatalf("a reader who left: %+v %v, want the error, not a stale page", p, err)
	}
}
