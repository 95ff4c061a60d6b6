package posts

import (
	"context"
	"log/slog"
	"slices"
	"testing"
)

// pageStore holds posts 1 to 4 (post 3's author has gone) and answers
// them in an order of its own, as a store may; likedBy records who asked
// for their likes.
type pageStore struct {
	Store
	likedBy []int64
}

func (s *pageStore) PostsByIDs(_ context.Context, ids []int64) ([]Post, error) {
	var out []Post
	for _, id := range slices.Backward(ids) {
		if id >= 1 && id <= 4 {
			out = append(out, Post{ID: id, AuthorID: 100 + id%3})
		}
	}
	return out, nil
}

func (s *pageStore) LikedBy(_ context.Context, userID int64, _ []int64) (map[int64]bool, error) {
	s.likedBy = append(s.likedBy, userID)
	return map[int64]bool{2: true}, nil
}

type knownAuthors struct{}

func (knownAuthors) Authors(_ context.Context, ids []int64) (map[int64]Author, error) {
	m := map[int64]Author{}
	for _, id := range ids {
		if id != 100 { // post 3's author
			m[id] = Author{ID: id, Username: "u"}
		}
	}
	return m, nil
}

// A page of views is in the order of its ids, without the posts that do
// not exist or whose author has gone, liked as its viewer likes them; an
// anonymous viewer's likes are not looked up.
func TestViewsByIDs(t *testing.T) {
	store := &pageStore{}
	s := NewService(store, nil, knownAuthors{}, nil, Config{Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	views, err := s.ViewsByIDs(ctx, 7, []int64{4, 3, 9, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, v := range views {
		got = append(got, v.ID)
		if v.LikedByMe != (v.ID == 2) || v.Author.ID != v.AuthorID {
			t.Errorf("view %+v", v)
		}
	}
	if !slices.Equal(got, []int64{4, 2, 1}) || !slices.Equal(store.likedBy, []int64{7}) {
		t.Fatalf("views of %v, likes asked for %v", got, store.likedBy)
	}
	if views, err := s.ViewsByIDs(ctx, 0, []int64{2}); err != nil || len(views) != 1 || views[0].LikedByMe || len(store.likedBy) != 1 {
		t.Fatalf("anonymous: %+v %v; likes asked for %v", views, err, store.likedBy)
	}
	if views, err := s.ViewsByIDs(ctx, 7, nil); err != nil || views == nil || len(views) != 0 {
		t.Fatalf("no ids: %#v %v (an empty page is [], not null, in JSON)", views, err)
	}
}
