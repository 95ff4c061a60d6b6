package httplimit

import (
	"net/http"
	"testing"
	"time"

	"github.com/photofeed/photofeed/ratelimit"
)

// The RateLimit headers list every policy applied, in order, in the
// form of the IETF draft: a quoted name, then its quota and window, or
// what is left and when the window resets (seconds, rounded up).
func TestRateLimitHeaders(t *testing.T) {
	h := http.Header{}
	setHeaders(h, []applied{
		{name: "signups", Limit: ratelimit.Limit{Requests: 2, Window: 30 * time.Minute},
			d: ratelimit.Decision{Remaining: 1, Reset: 1500 * time.Millisecond}},
		{name: `a "b"`, Limit: ratelimit.Limit{Requests: 1000, Window: time.Minute},
			d: ratelimit.Decision{Remaining: 999, Reset: time.Minute}},
	})
	if got, want := h.Get("RateLimit-Policy"), `"signups";q=2;w=1800, "a \"b\"";q=1000;w=60`; got != want {
		t.Errorf("RateLimit-Policy %s, want %s", got, want)
	}
	if got, want := h.Get("RateLimit"), `"signups";r=1;t=2, "a \"b\"";r=999;t=60`; got != want {
		t.Errorf("RateLimit %s, want %s", got, want)
	}
}
