// Package feed serves home timelines: the posts of the people a user
// follows, and their own, newest first.
//
// Today the timeline is computed on read from the follow graph (fan-out on
// read); the Store interface is the seam where a precomputed read model
// (fan-out on write) replaces it without touching callers.
package feed

import (
	"context"
	"fmt"

	"github.com/photofeed/photofeed/internal/posts"
)

// Store answers timeline queries.
type Store interface {
	// HomeTimeline returns up to limit post ids visible in userID's home
	// feed with ids below beforeID (0: from the newest), newest first.
	HomeTimeline(ctx context.Context, userID, beforeID int64, limit int) ([]int64, error)
}

// PostLoader loads posts in the order asked.
type PostLoader interface {
	PostsByIDs(ctx context.Context, ids []int64) ([]posts.Post, error)
}

// Page is one page of a feed.
type Page struct {
	Posts []posts.Post
	// Next is the cursor of the following page, "" on the last one.
	Next string
}

// Service pages through home feeds with signed cursors.
type Service struct {
	store  Store
	posts  PostLoader
	cursor *CursorCodec
}

func NewService(store Store, posts PostLoader, cursor *CursorCodec) *Service {
	return &Service{store: store, posts: posts, cursor: cursor}
}

// Home returns a page of userID's feed after cursor ("" for the first).
func (s *Service) Home(ctx context.Context, userID int64, cursor string, limit int) (Page, error) {
	var before int64
	if cursor != "" {
		var err error
		if before, err = s.cursor.Decode(cursor); err != nil {
			return Page{}, err
		}
	}
	// One extra id tells whether there is a next page without a second query.
	idList, err := s.store.HomeTimeline(ctx, userID, before, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("load feed: %w", err)
	}
	more := len(idList) > limit
	if more {
		idList = idList[:limit]
	}
	list, err := s.posts.PostsByIDs(ctx, idList)
	if err != nil {
		return Page{}, fmt.Errorf("load feed: %w", err)
	}
	page := Page{Posts: list}
	if more && len(idList) > 0 {
		page.Next = s.cursor.Encode(idList[len(idList)-1])
	}
	return page, nil
}
