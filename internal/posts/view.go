package posts

import (
	"context"
	"fmt"
)

// Author is how a post names who wrote it.
type Author struct {
	ID          int64
	Username    string
	DisplayName string
}

// Authors looks up post authors; identity provides it.
type Authors interface {
	Authors(ctx context.Context, ids []int64) (map[int64]Author, error)
}

// View is a post as one viewer sees it.
type View struct {
	Post
	Author    Author
	LikedByMe bool
}

// Views joins posts with their authors and the viewer's likes, in two
// batched reads whatever the number of posts. viewerID 0 is anonymous.
// Posts whose author has gone are left out.
func (s *Service) Views(ctx context.Context, viewerID int64, list []Post) ([]View, error) {
	if len(list) == 0 {
		return []View{}, nil
	}
	authorIDs := make([]int64, 0, len(list))
	postIDs := make([]int64, 0, len(list))
	for _, p := range list {
		authorIDs = append(authorIDs, p.AuthorID)
		postIDs = append(postIDs, p.ID)
	}
	authors, err := s.authors.Authors(ctx, authorIDs)
	if err != nil {
		return nil, fmt.Errorf("post views: %w", err)
	}
	liked := map[int64]bool{}
	if viewerID != 0 {
		if liked, err = s.store.LikedBy(ctx, viewerID, postIDs); err != nil {
			return nil, fmt.Errorf("post views: %w", err)
		}
	}
	out := make([]View, 0, len(list))
	for _, p := range list {
		a, ok := authors[p.AuthorID]
		if !ok {
			s.log.WarnContext(ctx, "skipping post", "post", p.ID, "err", errNoAuthor)
			continue
		}
		out = append(out, View{Post: p, Author: a, LikedByMe: liked[p.ID]})
	}
	return out, nil
}

// ViewsByIDs is Views of the posts with these ids that exist, in the
// order of ids.
func (s *Service) ViewsByIDs(ctx context.Context, viewerID int64, ids []int64) ([]View, error) {
	list, err := s.PostsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	return s.Views(ctx, viewerID, list)
}

// ViewOne is Views for a single post.
func (s *Service) ViewOne(ctx context.Context, viewerID int64, p Post) (View, error) {
	v, err := s.Views(ctx, viewerID, []Post{p})
	if err != nil {
		return View{}, err
	}
	if len(v) == 0 {
		return View{}, ErrPostNotFound
	}
	return v[0], nil
}
