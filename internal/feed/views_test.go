package feed

import (
	"context"
	"slices"
	"testing"

	"github.com/photofeed/photofeed/internal/cursor"
	"github.com/photofeed/photofeed/internal/posts"
)

// pagedStore is a timeline of ids 9 down to 1, with no high-follower
// authors to merge.
type pagedStore struct{ lagStore }

func (pagedStore) Timeline(_ context.Context, _, before int64, limit int, _ bool) ([]int64, bool, error) {
	var ids []int64
	for id := int64(9); id > 0 && len(ids) < limit; id-- {
		if before == 0 || id < before {
			ids = append(ids, id)
		}
	}
	return ids, true, nil
}

// viewsByReader records who asked for which posts, and answers each as
// liked by its reader.
type viewsByReader struct {
	asked []int64
	ids   [][]int64
}

func (v *viewsByReader) ViewsByIDs(_ context.Context, viewerID int64, ids []int64) ([]posts.View, error) {
	v.asked, v.ids = append(v.asked, viewerID), append(v.ids, ids)
	out := make([]posts.View, len(ids))
	for i, id := range ids {
		out[i] = posts.View{Post: posts.Post{ID: id, AuthorID: 100}, Author: posts.Author{ID: 100, Username: "ann"}, LikedByMe: true}
	}
	return out, nil
}

// A page comes back as its reader sees it, loaded once for the page's ids
// (not the one fetched to tell whether there is a next page), and its
// cursor leads to the posts after it.
func TestHomePageIsViewsAsTheReaderSeesThem(t *testing.T) {
	views := &viewsByReader{}
	s := NewService(&pagedStore{}, views, cursor.New([]byte("feed-cursor-key")), Config{})
	ctx := context.Background()
	first, err := s.Home(ctx, 7, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Home(ctx, 7, first.Next, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(views.asked, []int64{7, 7}) || !slices.Equal(views.ids[0], []int64{9, 8, 7, 6}) || !slices.Equal(views.ids[1], []int64{5, 4, 3, 2}) {
		t.Fatalf("views asked for by readers %v, ids %v", views.asked, views.ids)
	}
	if first.Next == "" || len(first.Posts) != 4 || first.Posts[0].Author.Username != "ann" || !first.Posts[0].LikedByMe {
		t.Fatalf("first page %+v", first)
	}
	if len(second.Posts) != 4 || second.Posts[0].ID != 5 {
		t.Fatalf("second page %+v", second)
	}
}
