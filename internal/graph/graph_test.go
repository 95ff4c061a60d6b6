package graph_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/graph"
)

// follows is a graph.Store in memory, follows in insertion order.
type follows struct{ edges [][2]int64 }

func (f *follows) Follow(_ context.Context, a, b int64, _ time.Time) error {
	f.edges = append(f.edges, [2]int64{a, b})
	return nil
}
func (f *follows) Unfollow(context.Context, int64, int64) error { return nil }
func (f *follows) IsFollowing(_ context.Context, a, b int64) (bool, error) {
	return slices.Contains(f.edges, [2]int64{a, b}), nil
}
func (f *follows) Counts(context.Context, int64) (graph.Counts, error) { return graph.Counts{}, nil }
func (f *follows) Followers(context.Context, int64, int, int) ([]int64, error) {
	return nil, nil
}
func (f *follows) Following(_ context.Context, id int64, offset, limit int) ([]int64, error) {
	var out []int64
	for _, e := range f.edges {
		if e[0] == id {
			out = append(out, e[1])
		}
	}
	out = out[min(offset, len(out)):]
	return out[:min(limit, len(out))], nil
}

func TestSuggestionsAreFriendsOfFriendsNotYetFollowed(t *testing.T) {
	store := &follows{}
	svc := graph.NewService(store, nil)
	ctx := context.Background()
	for _, e := range [][2]int64{
		{1, 2}, {1, 3}, // 1 follows 2 and 3
		{2, 4}, {3, 4}, // both follow 4: the strongest suggestion
		{2, 5}, // one follows 5
		{3, 1}, // 1 itself is never suggested
		{2, 3}, // 3 is already followed
		{6, 7}, // unrelated
	} {
		svc.Follow(ctx, e[0], e[1])
	}
	got, err := svc.Suggestions(ctx, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{4, 5}; !slices.Equal(got, want) {
		t.Fatalf("suggestions for 1: %v, want %v", got, want)
	}
	if got, _ := svc.Suggestions(ctx, 1, 1); !slices.Equal(got, []int64{4}) {
		t.Fatalf("limit 1: %v", got)
	}
	if got, _ := svc.Suggestions(ctx, 6, 10); len(got) != 0 {
		t.Fatalf("suggestions for 6, whose only followee follows no one: %v", got)
	}
}
