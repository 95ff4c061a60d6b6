package media

import (
	"context"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/photofeed/photofeed/internal/errkind"
)

// ErrBusy is a wait for the decode budget that ran out: retry later.
var ErrBusy = errkind.New(errkind.Unavailable, "the server is busy with other images; retry shortly")

// Budget bounds the memory a node spends decoding and processing images
// at once: each image holds its Header.Cost of it while it is processed.
// Waiters are served first come, first served, so a large image is not
// starved by a stream of small ones.
type Budget struct {
	size   int64
	sem    *semaphore.Weighted
	waited func(time.Duration)
}

// NewBudget returns a budget of size bytes. waited, if not nil, is told
// how long each Acquire waited, whether it got its bytes or not.
func NewBudget(size int64, waited func(time.Duration)) *Budget {
	if waited == nil {
		waited = func(time.Duration) {}
	}
	return &Budget{size: size, sem: semaphore.NewWeighted(size), waited: waited}
}

// Size is the whole budget: no single image may cost more.
func (b *Budget) Size() int64 { return b.size }

// Acquire waits until n bytes of the budget are free, or ctx ends (then
// ErrBusy). The caller must call release once done.
func (b *Budget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	n = max(1, min(n, b.size)) // an image over the whole budget is refused before
	start := time.Now()
	err = b.sem.Acquire(ctx, n)
	b.waited(time.Since(start))
	if err != nil {
		return nil, ErrBusy
	}
	return func() { b.sem.Release(n) }, nil
}
