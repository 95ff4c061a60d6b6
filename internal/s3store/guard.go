package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/resilience"
)

// Every call to the store has a deadline of its own and goes through one
// breaker: a store that is down or hangs costs an upload or a media read a
// bounded wait, and once it has failed five calls in a row, none at all
// (503 at once) until a probe finds it back. Without them a hanging store
// held each request until the client gave up, the SDK retrying inside.
const (
	// putBase and putRate bound a write: a fixed allowance for the round
	// trip plus the time to send the bytes at a rate any store a
	// deployment would use sustains.
	putBase = 2 * time.Second
	putRate = 8 << 20 // bytes a second
	// readWithin bounds a media read, body included (media are at most the
	// upload limit).
	readWithin = 3 * time.Second
	// deleteWithin and listWithin bound a delete and one page of a listing.
	deleteWithin = 5 * time.Second
	listWithin   = 30 * time.Second
)

func putWithin(size int) time.Duration {
	return putBase + time.Duration(int64(size)*int64(time.Second)/putRate)
}

func newGuard() *resilience.Guard {
	// The guard's own timeout is the longest any call may be given; each
	// call sets its own, shorter one.
	return resilience.NewGuard("object store", resilience.GuardConfig{Timeout: 10 * time.Minute})
}

// call runs fn within d through the breaker. Failures of the store come
// back wrapping blobstore.ErrUnavailable; answers about the object (not
// found, already there) pass through as they are and count as successes;
// a call whose caller gave up counts neither way (resilience.Guard).
func (s *Store) call(ctx context.Context, d time.Duration, fn func(ctx context.Context) error) error {
	var answer error
	err := s.guard.Do(ctx, func(gctx context.Context) error {
		cctx, cancel := context.WithTimeout(gctx, d)
		defer cancel()
		answer = fn(cctx)
		if answer == nil || !storeFault(answer) && ctx.Err() == nil {
			return nil
		}
		if cctx.Err() != nil && ctx.Err() == nil {
			answer = fmt.Errorf("no answer within %s: %w", d, answer)
		}
		return answer
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return err // the caller left: nothing to say of the store
	case err != nil: // the store failed, or the breaker or bulkhead refused the call
		return fmt.Errorf("%w: %w", blobstore.ErrUnavailable, err)
	}
	return answer
}

// storeFault says whether err is the store failing (no answer, a 5xx, a
// throttle) as against an answer it gave (another 4xx: a missing object, a
// refused condition, a misconfigured bucket).
func storeFault(err error) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		code := re.HTTPStatusCode() // 0: the request got no answer
		return code == 0 || code >= 500 || code == 429
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
