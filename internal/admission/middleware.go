package admission

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/photofeed/photofeed/internal/problem"
)

// RetryAfter is what a shed request is told to wait, in seconds: overload
// passes in seconds, or the limit has found the node's capacity by then.
const RetryAfter = 1

// ShedHeader marks a refusal for load, so that a balancer in front can
// tell a busy node from a failing one without reading the body: it sends
// the request elsewhere but does not take the node out.
const ShedHeader = "Photofeed-Shed"

// Middleware admits each request by its class (from classify) or answers
// it 503 at once, with Retry-After, and calls shed with its class.
func (l *Limiter) Middleware(classify func(*http.Request) Class, shed func(Class), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := classify(r)
		if c == Exempt {
			next.ServeHTTP(w, r)
			return
		}
		t, ok := l.Acquire(c)
		if !ok {
			if shed != nil {
				shed(c)
			}
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
			w.Header().Set(ShedHeader, c.String())
			problem.Write(w, *problem.New(http.StatusServiceUnavailable, "overloaded",
				"The server is too busy to take this request now; try again in a moment."))
			return
		}
		// A panic still releases the request (problem.Recover answers it
		// further out), without counting its latency.
		done := false
		defer func() {
			if done {
				l.Done(t)
			} else {
				l.Drop(t)
			}
		}()
		next.ServeHTTP(w, r)
		// A request cut off by its client ended early, or late: either way
		// its latency is the client's doing, not the node's.
		done = !errors.Is(r.Context().Err(), context.Canceled)
	})
}
