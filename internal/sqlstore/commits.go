package sqlstore

import "sync/atomic"

// Commits is what a database tells of its committed write transactions:
// how many there have been, and a wake-up after each, so those who act on
// writes (the outbox relay, the feed's freshness shortcut) take them from
// the database they are built on instead of hooks set on it later.
type Commits struct {
	n    atomic.Uint64
	wake chan struct{}
}

func NewCommits() *Commits { return &Commits{wake: make(chan struct{}, 1)} }

// Committed records one commit. It never blocks: wake-ups not yet taken
// merge into one.
func (c *Commits) Committed() {
	c.n.Add(1)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Count is the number of commits so far.
func (c *Commits) Count() uint64 { return c.n.Load() }

// Wake receives after a commit. It has one listener: a second would take
// wake-ups from the first.
func (c *Commits) Wake() <-chan struct{} { return c.wake }
