package feed

import "sync"

// Progress carries the fan-out consumer's announcements ("I have handled
// the outbox up to here") to the reads waiting for it, so a read that must
// wait for the fan-out wakes when it moves instead of re-querying on a
// timer. Where the consumer runs in another process the announcements
// arrive over the bus; one that is lost only makes a read wait to its
// bound (Config.FreshWait), as a stalled fan-out would.
type Progress struct {
	mu sync.Mutex
	ch chan struct{} // closed, and replaced, at the next announcement
}

func NewProgress() *Progress {
	return &Progress{ch: make(chan struct{})}
}

// Announce wakes every read waiting for the fan-out's next position.
func (p *Progress) Announce() {
	p.mu.Lock()
	close(p.ch)
	p.ch = make(chan struct{})
	p.mu.Unlock()
}

// Next returns a channel closed at the next announcement. A reader takes
// it before reading the offsets, so an announcement made after that read
// is never missed.
func (p *Progress) Next() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ch
}
