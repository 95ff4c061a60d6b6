package feed

import (
	"sync"
	"time"
)

// lastPages keeps the first page last served to each of the most recent
// readers (up to max, the oldest reader forgotten first), to serve when
// the stores cannot answer: a page a little stale beats an error.
type lastPages struct {
	mu    sync.Mutex
	max   int
	pages map[int64]kept
	ring  []int64 // readers in the order they were first kept; next is the oldest
	next  int
}

type kept struct {
	page  Page
	limit int
	at    time.Time
}

func newLastPages(max int) *lastPages {
	return &lastPages{max: max, pages: make(map[int64]kept, max)}
}

func (l *lastPages) put(reader int64, limit int, p Page, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.pages[reader]; !ok {
		if len(l.ring) < l.max {
			l.ring = append(l.ring, reader)
		} else {
			delete(l.pages, l.ring[l.next])
			l.ring[l.next] = reader
			l.next = (l.next + 1) % l.max
		}
	}
	l.pages[reader] = kept{page: p, limit: limit, at: at}
}

// get returns reader's kept page cut to limit, and when it was served.
func (l *lastPages) get(reader int64, limit int) (Page, time.Time, bool) {
	l.mu.Lock()
	k, ok := l.pages[reader]
	l.mu.Unlock()
	if !ok {
		return Page{}, time.Time{}, false
	}
	p := k.page
	if len(p.Posts) > limit {
		p.Posts, p.Next = p.Posts[:limit], "" // its cursor is for the longer page
	}
	return p, k.at, true
}
