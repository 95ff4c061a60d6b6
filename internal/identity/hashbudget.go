package identity

import (
	"context"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/photofeed/photofeed/internal/errkind"
)

// ErrBusy is a password hash that could not get memory in time: the node
// is hashing as much as it may at once. It is a 503, and safe to retry.
var ErrBusy = errkind.New(errkind.Unavailable, "too many password checks at once; try again in a few seconds")

// hashBudget bounds the argon2id memory in use at once across the node, so
// a flood of logins (each hash takes --argon2-memory) queues instead of
// taking the process's memory.
type hashBudget struct {
	sem    *semaphore.Weighted
	size   int64 // KiB
	wait   time.Duration
	waited func(time.Duration)
}

func newHashBudget(kib int64, wait time.Duration, waited func(time.Duration)) *hashBudget {
	if waited == nil {
		waited = func(time.Duration) {}
	}
	return &hashBudget{sem: semaphore.NewWeighted(kib), size: kib, wait: wait, waited: waited}
}

// do runs fn, which hashes with kib of memory, once that much of the
// budget is free, waiting at most the budget's wait. A hash larger than
// the whole budget (parameters since lowered) runs alone.
func (b *hashBudget) do(ctx context.Context, kib uint32, fn func()) error {
	w := min(int64(kib), b.size)
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	start := time.Now()
	err := b.sem.Acquire(wctx, w)
	b.waited(time.Since(start))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrBusy
	}
	defer b.sem.Release(w)
	fn()
	return nil
}
