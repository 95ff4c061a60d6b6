package media

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/semaphore"
)

// Checks bounds the validity checks (Validate) a node runs at once. A
// check holds little memory, but its CPU grows with the image, not the
// file: a 7000×7000 16-bit PNG of a few hundred KB inflates to 392 MB of
// pixel data, which the check reads through. So a flood of such uploads
// keeps at most Size cores busy checking; an upload that finds every slot
// taken waits for one, up to the wait given or its context, and is then
// refused with ErrBusy (503 + Retry-After; an upload is safe to retry
// with its Idempotency-Key).
type Checks struct {
	size   int
	wait   time.Duration
	sem    *semaphore.Weighted
	waited func(time.Duration)
}

// NewChecks returns n slots (at least one), each waited for up to wait.
// waited, if not nil, is told how long each Acquire waited, whether it
// got a slot or not.
func NewChecks(n int, wait time.Duration, waited func(time.Duration)) *Checks {
	n = max(n, 1)
	if waited == nil {
		waited = func(time.Duration) {}
	}
	return &Checks{size: n, wait: wait, sem: semaphore.NewWeighted(int64(n)), waited: waited}
}

// Size is how many checks may run at once.
func (c *Checks) Size() int { return c.size }

// Acquire takes a slot, waiting up to the wait or until ctx ends: then it
// returns ErrBusy, or ctx's error if its caller gave up. The caller must
// call release once done.
func (c *Checks) Acquire(ctx context.Context) (release func(), err error) {
	wait, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	start := time.Now()
	err = c.sem.Acquire(wait, 1)
	c.waited(time.Since(start))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for an image check: %w", ctx.Err())
		}
		return nil, ErrBusy
	}
	return func() { c.sem.Release(1) }, nil
}

// Validate is media.Validate run in one of the slots.
func (c *Checks) Validate(ctx context.Context, data []byte, lim Limits) (Header, error) {
	release, err := c.Acquire(ctx)
	if err != nil {
		return Header{}, err
	}
	defer release()
	return Validate(data, lim)
}
