package gateway

import (
	"errors"

	"github.com/sony/gobreaker/v2"
)

// The breaker is gobreaker's two-step form rather than the resilience
// package's Guard: a proxy must know whether an upstream will take a
// request before choosing it (Guard only says so by making the call), and
// the call it guards lasts until the response body has been streamed,
// which Guard's per-call timeout would cut.

// errClientGone marks an attempt the client abandoned: it says nothing of
// the upstream's health and is not counted.
var errClientGone = errors.New("client went away")

func newBreaker(name string, cfg BreakerConfig) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	buckets := cfg.Window / 10
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         name,
		MaxRequests:  1, // one probe when half-open
		Interval:     cfg.Window,
		BucketPeriod: buckets, // a rolling window, so an old burst ages out gradually
		Timeout:      cfg.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.Requests >= uint32(cfg.MinRequests) &&
				float64(c.TotalFailures) >= cfg.FailureRatio*float64(c.Requests)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errClientGone) },
	})
}

// permit reserves a request with u's breaker; done reports how it went.
// It fails when the breaker is open or its half-open probe is taken.
func (u *upstream) permit() (done func(error), ok bool) {
	done, err := u.breaker.Allow()
	return done, err == nil
}
