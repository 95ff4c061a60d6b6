package httplimit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/photofeed/photofeed/ratelimit"
)

type brokenLimiter struct{}

func (brokenLimiter) AllowN(context.Context, string, ratelimit.Limit, int) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("store unreachable")
}

// Every policy's decision on a request reaches OnDecision: within the
// quota, over it, and the limiter failing (the request let through).
func TestOnDecision(t *testing.T) {
	cfg := Config{Policies: map[string]ratelimit.Limit{
		Anonymous: {Requests: 2, Window: time.Hour, Algorithm: ratelimit.SlidingWindowLog},
	}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, c := range []struct {
		limiter ratelimit.Limiter
		want    []string
		codes   []int
	}{
		{ratelimit.NewMemory(ratelimit.MemoryConfig{}), []string{"anonymous allowed", "anonymous allowed", "anonymous limited"}, []int{200, 200, 429}},
		{brokenLimiter{}, []string{"anonymous failed", "anonymous failed", "anonymous failed"}, []int{200, 200, 200}},
	} {
		var got []string
		h := New(c.limiter, cfg, log).OnDecision(func(policy, outcome string) { got = append(got, policy+" "+outcome) }).Middleware(ok)
		var codes []int
		for range 3 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/v2/feed", nil))
			codes = append(codes, w.Code)
		}
		if !slices.Equal(got, c.want) || !slices.Equal(codes, c.codes) {
			t.Errorf("%T: decisions %q and codes %v, want %q and %v", c.limiter, got, codes, c.want, c.codes)
		}
	}
}
