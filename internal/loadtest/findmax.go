package loadtest

import (
	"context"
	"math"
	"time"
)

// Search is the outcome of --find-max: each rate tried, and the highest
// one that held.
type Search struct {
	P99TargetMs float64 `json:"p99_target_ms"`
	MaxRate     float64 `json:"max_rate_per_s"` // 0: no rate tried held
	Steps       []Step  `json:"steps"`
}

// Step is one rate tried.
type Step struct {
	Rate       float64 `json:"rate_per_s"`
	Throughput float64 `json:"throughput_per_s"`
	P99Ms      float64 `json:"p99_ms"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	SendLagP99 float64 `json:"send_lag_p99_ms,omitempty"` // the generator's own lateness, in P99Ms
	Held       bool    `json:"held"`
}

// Measure runs the open loop at rate.
type Measure func(ctx context.Context, rate float64) (*Result, error)

// maxErrorRatio is the share of failed requests a rate may have and
// still count as held.
const maxErrorRatio = 0.001

// closeEnough ends the bisection when the bounds are within 5 %.
const closeEnough = 0.05

// FindMax searches for the highest open-loop rate whose p99 is at most
// target, with few errors, and whose throughput kept up: it doubles from
// start until a rate fails, then bisects between the last that held and
// the first that failed, trying at most maxSteps rates. It returns the
// search and the result of the best rate (nil if none held).
func FindMax(ctx context.Context, start float64, target time.Duration, maxSteps int, measure Measure) (*Search, *Result, error) {
	s := &Search{P99TargetMs: float64(target) / float64(time.Millisecond)}
	var best *Result
	lo, hi := 0.0, 0.0 // highest that held, lowest that failed
	rate := start
	for len(s.Steps) < maxSteps {
		res, err := measure(ctx, rate)
		if err != nil {
			return s, best, err
		}
		if res.Interrupted {
			s.MaxRate = lo
			return s, best, nil
		}
		p99 := res.P99()
		st := Step{Rate: rate, Throughput: res.Throughput, P99Ms: float64(p99) / float64(time.Millisecond),
			Requests: res.Requests, Errors: res.Errors}
		if res.SendLag != nil {
			st.SendLagP99 = res.SendLag.P99Ms
		}
		st.Held = p99 <= target && res.Requests > 0 &&
			float64(res.Errors) <= maxErrorRatio*float64(res.Requests) &&
			res.Throughput >= 0.9*rate
		s.Steps = append(s.Steps, st)
		if st.Held {
			lo, best = rate, res
		} else {
			hi = rate
		}
		switch {
		case hi == 0:
			rate *= 2
		case lo == 0:
			rate /= 2
			if rate < 1 {
				return s, nil, nil
			}
		default:
			if (hi-lo)/lo <= closeEnough {
				s.MaxRate = lo
				return s, best, nil
			}
			rate = math.Round((lo + hi) / 2)
			if rate <= lo || rate >= hi {
				s.MaxRate = lo
				return s, best, nil
			}
		}
	}
	s.MaxRate = lo
	return s, best, nil
}
