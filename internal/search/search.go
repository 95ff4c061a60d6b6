// Package search finds users (by username and display name) and posts (by
// caption words and #hashtags). The index is a projection of the primary
// store, kept in step by the domain events and rebuilt from the store by
// `photofeed reindex`; when it is unavailable, search answers 503 and
// nothing else is affected.
package search

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/photofeed/photofeed/internal/cursor"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/events"
)

// Kind is what a search looks for.
type Kind string

const (
	Users Kind = "users"
	Posts Kind = "posts"
)

// Index is the search engine.
type Index interface {
	IndexUser(ctx context.Context, id int64, username, displayName string) error
	IndexPost(ctx context.Context, id, authorID int64, caption string, hashtags []string) error
	DeletePost(ctx context.Context, id int64) error
	// Search returns matching ids, newest first, below beforeID (0: from
	// the newest).
	Search(ctx context.Context, kind Kind, q string, beforeID int64, limit int) ([]int64, error)
}

var (
	ErrUnavailable = errkind.New(errkind.Unavailable, "search is unavailable right now; everything else works")
	ErrQuery       = &errkind.Error{Kind: errkind.Malformed, Message: "bad search",
		Fields: map[string]string{"q": "must be 1–200 characters"}}
	ErrKind = &errkind.Error{Kind: errkind.Malformed, Message: "bad search",
		Fields: map[string]string{"type": "must be users or posts"}}
)

// Page is one page of results.
type Page struct {
	IDs  []int64
	Next string
}

// Service searches with signed cursors.
type Service struct {
	index  Index
	cursor *cursor.Codec
}

func NewService(index Index, c *cursor.Codec) *Service { return &Service{index: index, cursor: c} }

// Unavailable is search where there is no index: every search answers
// ErrUnavailable (503) and nothing else is affected. It stands in for a
// Service so that a handler always has a search to ask.
type Unavailable struct{}

func (Unavailable) Search(context.Context, Kind, string, string, int) (Page, error) {
	return Page{}, ErrUnavailable
}

// Search runs q against kind.
func (s *Service) Search(ctx context.Context, kind Kind, q, after string, limit int) (Page, error) {
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > 200 || !utf8.ValidString(q) {
		return Page{}, ErrQuery
	}
	if kind != Users && kind != Posts {
		return Page{}, ErrKind
	}
	var before int64
	if after != "" {
		var err error
		if before, err = s.cursor.Decode(after); err != nil {
			return Page{}, err
		}
	}
	ids, err := s.index.Search(ctx, kind, q, before, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("search %s: %w", kind, err)
	}
	p := Page{IDs: ids}
	if len(ids) > limit {
		p.IDs = ids[:limit]
		p.Next = s.cursor.Encode(p.IDs[limit-1])
	}
	return p, nil
}

// Indexer keeps the index in step with domain events. Indexing by id makes
// every handler idempotent.
type Indexer struct{ index Index }

func NewIndexer(index Index) *Indexer { return &Indexer{index: index} }

// ConsumerName is the indexer's durable consumer name.
const ConsumerName = "search"

// Subjects are the events the indexer needs.
var Subjects = []string{
	events.SubjectPrefix + events.UserRegistered,
	events.SubjectPrefix + events.PhotoPosted,
	events.SubjectPrefix + events.PhotoDeleted,
}

func (x *Indexer) Handle(ctx context.Context, subject string, data []byte) error {
	switch strings.TrimPrefix(subject, events.SubjectPrefix) {
	case events.UserRegistered:
		var p events.UserRegisteredV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return x.index.IndexUser(ctx, p.UserID, p.Username, p.DisplayName)
	case events.PhotoPosted:
		var p events.PhotoPostedV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return x.index.IndexPost(ctx, p.PostID, p.AuthorID, p.Caption, Hashtags(p.Caption))
	case events.PhotoDeleted:
		var p events.PhotoDeletedV1
		if _, err := events.Decode(data, &p); err != nil {
			return err
		}
		return x.index.DeletePost(ctx, p.PostID)
	}
	return nil
}

// Source is the primary store, read in id order for a rebuild.
type Source interface {
	UsersAfter(ctx context.Context, afterID int64, limit int) ([]UserDoc, error)
	PostsAfter(ctx context.Context, afterID int64, limit int) ([]PostDoc, error)
}

type UserDoc struct {
	ID                    int64
	Username, DisplayName string
}

type PostDoc struct {
	ID, AuthorID int64
	Caption      string
}

// Reindex feeds every user and post of src into index; it returns the
// counts, and tells progress (if not nil) the counts so far after each
// batch.
func Reindex(ctx context.Context, src Source, index Index, progress func(users, posts int)) (users, posts int, err error) {
	if progress == nil {
		progress = func(int, int) {}
	}
	for after := int64(0); ; {
		batch, err := src.UsersAfter(ctx, after, 500)
		if err != nil {
			return users, posts, err
		}
		if len(batch) == 0 {
			break
		}
		for _, u := range batch {
			if err := index.IndexUser(ctx, u.ID, u.Username, u.DisplayName); err != nil {
				return users, posts, err
			}
		}
		users += len(batch)
		after = batch[len(batch)-1].ID
		progress(users, posts)
	}
	for after := int64(0); ; {
		batch, err := src.PostsAfter(ctx, after, 500)
		if err != nil {
			return users, posts, err
		}
		if len(batch) == 0 {
			break
		}
		for _, p := range batch {
			if err := index.IndexPost(ctx, p.ID, p.AuthorID, p.Caption, Hashtags(p.Caption)); err != nil {
				return users, posts, err
			}
		}
		posts += len(batch)
		after = batch[len(batch)-1].ID
		progress(users, posts)
	}
	return users, posts, nil
}
