// Package bleveindex implements search.Index with bleve, in a directory
// under the data dir: users and posts in one index, told apart by a kind
// field, document ids that sort by time (the zero-padded 64-bit id).
package bleveindex

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/photofeed/photofeed/internal/search"
)

// Index is an open bleve index.
type Index struct {
	mu  sync.RWMutex
	idx bleve.Index // nil once closed
}

var _ search.Index = (*Index)(nil)

func newMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	doc := bleve.NewDocumentMapping()
	kw := bleve.NewKeywordFieldMapping()
	text := bleve.NewTextFieldMapping()
	text.Analyzer = "standard"
	doc.AddFieldMappingsAt("kind", kw)
	doc.AddFieldMappingsAt("username", text)
	doc.AddFieldMappingsAt("username_kw", kw)
	doc.AddFieldMappingsAt("display_name", text)
	doc.AddFieldMappingsAt("caption", text)
	doc.AddFieldMappingsAt("hashtags", kw)
	m.DefaultMapping = doc
	return m
}

// Open opens the index at dir, creating it if missing. It fails quickly,
// instead of waiting, if another process holds the index.
func Open(dir string) (*Index, error) {
	idx, err := bleve.OpenUsing(dir, map[string]any{"bolt_timeout": "2s"})
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		idx, err = bleve.New(dir, newMapping())
	}
	if err != nil {
		return nil, fmt.Errorf("search index %s: %w", dir, err)
	}
	if err := private(dir); err != nil {
		idx.Close()
		return nil, fmt.Errorf("search index %s: %w", dir, err)
	}
	return &Index{idx: idx}, nil
}

// private takes group and other permissions off what bleve wrote (its
// index_meta.json is created 0666 less the umask): the index holds
// captions of every post, readable only by the owner like the database.
func private(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if m := info.Mode().Perm(); m&0o077 != 0 {
			return os.Chmod(p, m&^0o077)
		}
		return nil
	})
}

// Create makes a new, empty index at dir, removing what was there.
func Create(dir string) (*Index, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	idx, err := bleve.New(dir, newMapping())
	if err != nil {
		return nil, fmt.Errorf("create search index %s: %w", dir, err)
	}
	if err := private(dir); err != nil {
		idx.Close()
		return nil, fmt.Errorf("create search index %s: %w", dir, err)
	}
	return &Index{idx: idx}, nil
}

func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idx == nil {
		return nil
	}
	err := x.idx.Close()
	x.idx = nil
	return err
}

func docID(kind search.Kind, id int64) string { return fmt.Sprintf("%s:%020d", kind, id) }

func (x *Index) with(fn func(bleve.Index) error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return search.ErrUnavailable
	}
	return fn(x.idx)
}

func (x *Index) IndexUser(ctx context.Context, id int64, username, displayName string) error {
	return x.with(func(i bleve.Index) error {
		return i.Index(docID(search.Users, id), map[string]any{
			"kind": string(search.Users), "username": username, "username_kw": username, "display_name": displayName})
	})
}

func (x *Index) IndexPost(ctx context.Context, id, authorID int64, caption string, tags []string) error {
	return x.with(func(i bleve.Index) error {
		return i.Index(docID(search.Posts, id), map[string]any{"kind": string(search.Posts), "caption": caption, "hashtags": tags})
	})
}

func (x *Index) DeletePost(ctx context.Context, id int64) error {
	return x.with(func(i bleve.Index) error { return i.Delete(docID(search.Posts, id)) })
}

func field(q interface{ SetField(string) }, f string) {
	q.SetField(f)
}

// Search matches users by username (whole or prefix) or display name, and
// posts by caption words or, for a query starting with #, by hashtag.
func (x *Index) Search(ctx context.Context, kind search.Kind, q string, beforeID int64, limit int) ([]int64, error) {
	var match query.Query
	lower := strings.ToLower(q)
	switch {
	case kind == search.Users:
		byName := bleve.NewMatchQuery(q)
		field(byName, "display_name")
		byUser := bleve.NewMatchQuery(q)
		field(byUser, "username")
		prefix := bleve.NewPrefixQuery(strings.TrimPrefix(lower, "@"))
		field(prefix, "username_kw")
		match = bleve.NewDisjunctionQuery(byName, byUser, prefix)
	case strings.HasPrefix(q, "#"):
		tag := bleve.NewTermQuery(strings.TrimPrefix(lower, "#"))
		field(tag, "hashtags")
		match = tag
	default:
		words := bleve.NewMatchQuery(q)
		field(words, "caption")
		words.SetOperator(query.MatchQueryOperatorAnd)
		match = words
	}
	kindQ := bleve.NewTermQuery(string(kind))
	field(kindQ, "kind")
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(kindQ, match), limit, 0, false)
	req.SortBy([]string{"-_id"})
	if beforeID > 0 {
		req.SetSearchAfter([]string{docID(kind, beforeID)})
	}
	var out []int64
	err := x.with(func(i bleve.Index) error {
		res, err := i.SearchInContext(ctx, req)
		if err != nil {
			return err
		}
		for _, h := range res.Hits {
			_, num, _ := strings.Cut(h.ID, ":")
			id, err := strconv.ParseInt(num, 10, 64)
			if err == nil {
				out = append(out, id)
			}
		}
		return nil
	})
	return out, err
}
