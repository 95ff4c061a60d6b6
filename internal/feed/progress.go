package feed

import (
	"sync"
	"sync/atomic"
)

// Progress carries the fan-out consumer's announcements ("I have handled
// the outbox up to here") to the reads waiting for it, so a read that must
// wait for the fan-out wakes when it moves instead of re-querying on a
// timer. Where the consumer runs in another process the announcements
// arrive over the bus; one that is lost only makes a read wait to its
// bound (Config.FreshWait), as a stalled fan-out would. While the bus is
// down (CarrierDown) no read waits: neither the events the fan-out would
// handle nor its announcements can arrive.
type Progress struct {
	mu   sync.Mutex
	ch   chan struct{} // closed, and replaced, at the next announcement
	down atomic.Bool
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

// CarrierDown says the announcements cannot arrive (the connection to the
// bus is lost): the reads waiting return now, and reads do not wait until
// CarrierUp.
func (p *Progress) CarrierDown() {
	p.down.Store(true)
	p.Announce()
}

// CarrierUp says the announcements arrive again.
func (p *Progress) CarrierUp() { p.down.Store(false) }

// carrierDown reports whether waiting for an announcement is in vain.
func (p *Progress) carrierDown() bool { return p.down.Load() }
