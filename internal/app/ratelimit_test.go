package app_test

import (
	"context"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
)

func limitsFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "limits.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func retryAfter(t *testing.T, r response) int {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	return n
}

func TestRateLimits(t *testing.T) {
	s := start(t, "--rate-limits", limitsFile(t, `{"policies": {
		"anonymous":      {"limit": 1000, "window": "1m"},
		"authenticated":  {"limit": 8, "window": "1m", "algorithm": "token_bucket"},
		"uploads":        {"limit": 1, "window": "30m", "algorithm": "token_bucket"},
		"signups":        {"limit": 2, "window": "30m", "algorithm": "sliding_window_log"},
		"login_failures": {"limit": 3, "window": "15m", "algorithm": "sliding_window_log"}}}`))
	c := s.client(t)

	// Sign-ups per IP: the third is refused, saying which policy and when.
	c.signup("alice")
	c.token = ""
	c.jsonReq("POST", "/v1/accounts", `{"username":"bob","password":"password-bob"}`)
	r := c.jsonReq("POST", "/v1/accounts", `{"username":"carol","password":"password-carol"}`)
	p := r.problem(t, 429)
	if p["type"] != "https://iana.org/assignments/http-problem-types#quota-exceeded" {
		t.Fatalf("429 type %v", p["type"])
	}
	if v, _ := p["violated-policies"].([]any); len(v) != 1 || v[0] != "signups" {
		t.Fatalf("violated-policies %v", p["violated-policies"])
	}
	if n := retryAfter(t, r); n > 30*60 || n < 29*60 {
		t.Fatalf("Retry-After %d s: the first sign-up leaves the 30 min window in just under 30 min", n)
	}
	if pol := r.Header.Get("RateLimit-Policy"); !strings.Contains(pol, `"signups";q=2;w=1800`) || !strings.Contains(pol, `"anonymous";q=1000;w=60`) {
		t.Fatalf("RateLimit-Policy %q", pol)
	}
	if rl := r.Header.Get("RateLimit"); !strings.Contains(rl, `"signups";r=0;t=`) {
		t.Fatalf("RateLimit %q", rl)
	}

	// Login failures per username and IP: three wrong passwords lock that
	// username out from here, even for the right password; others are free.
	for range 3 {
		c.jsonReq("POST", "/v1/sessions", `{"username":"alice","password":"wrong-password"}`).problem(t, 401)
	}
	r = c.jsonReq("POST", "/v1/sessions", `{"username":"alice","password":"password-alice"}`)
	if v, _ := r.problem(t, 429)["violated-policies"].([]any); len(v) != 1 || v[0] != "login_failures" {
		t.Fatalf("violated %v", v)
	}
	if r := c.jsonReq("POST", "/v1/sessions", `{"username":"bob","password":"password-bob"}`); r.StatusCode != 201 {
		t.Fatalf("bob's login: %d %s", r.StatusCode, r.Body)
	}
	for range 5 { // successes do not count
		if r := c.jsonReq("POST", "/v1/sessions", `{"username":"bob","password":"password-bob"}`); r.StatusCode != 201 {
			t.Fatalf("repeated good login: %d", r.StatusCode)
		}
	}

	// Authenticated requests per user: a burst of 8, then 429 with the
	// exact wait of a token bucket refilling 8 a minute (7.5 s → 8).
	bob := s.client(t)
	r = bob.jsonReq("POST", "/v1/sessions", `{"username":"bob","password":"password-bob"}`)
	var sess struct{ Token string }
	r.json(t, &sess)
	bob.token = sess.Token
	last := 8
	burstStart := time.Now()
	for i := range 8 {
		r := bob.do("GET", "/v1/me", nil)
		if r.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
		rl := r.Header.Get("RateLimit")
		if !strings.HasPrefix(rl, `"authenticated";r=`) {
			t.Fatalf("RateLimit %q", rl)
		}
		rem, _ := strconv.Atoi(strings.TrimPrefix(strings.Split(rl, ";")[1], "r="))
		if rem != last-1 {
			t.Fatalf("remaining %d after %d, want %d", rem, last, last-1)
		}
		last = rem
	}
	r = bob.do("GET", "/v1/me", nil)
	r.problem(t, 429)
	// The bucket refills from the burst's first request: on a loaded
	// machine the burst itself may take long enough to bring the wait
	// under 7.5 s.
	earliest := int(math.Ceil((7500*time.Millisecond - time.Since(burstStart)).Seconds()))
	if n := retryAfter(t, r); n > 8 || n < earliest {
		t.Fatalf("Retry-After %d, want %d to 8 (one token every 7.5 s)", n, earliest)
	}

	// Probes and media are not limited.
	for range 20 {
		if r := bob.do("GET", "/healthz", nil); r.StatusCode != 200 || r.Header.Get("RateLimit") != "" {
			t.Fatalf("healthz limited: %d %q", r.StatusCode, r.Header.Get("RateLimit"))
		}
	}
}

func TestUploadLimit(t *testing.T) {
	s := start(t, "--rate-limits", limitsFile(t, `{"policies": {"uploads": {"limit": 1, "window": "30m", "algorithm": "token_bucket"}}}`))
	c := s.client(t)
	c.signup("alice")
	firstPost := time.Now()
	c.post("first")
	r := c.upload("/v1/posts", app.SampleJPEG(t, 10, 10, color.White), "second")
	if v, _ := r.problem(t, 429)["violated-policies"].([]any); len(v) != 1 || v[0] != "uploads" {
		t.Fatalf("violated %v", v)
	}
	// The one token comes back 30 min after the first post took it; a
	// slow machine spends part of that between the two uploads.
	earliest := int(math.Ceil((30*time.Minute - time.Since(firstPost)).Seconds()))
	if n := retryAfter(t, r); n > 1800 || n < earliest {
		t.Fatalf("Retry-After %d, want %d to 1800", n, earliest)
	}
}

func TestRateLimitsOffAndBadFiles(t *testing.T) {
	s := start(t, "--rate-limits", "off")
	if r := s.client(t).do("GET", "/v1/users/nobody", nil); r.Header.Get("RateLimit-Policy") != "" {
		t.Fatal("limits off still sends RateLimit-Policy")
	}
	for body, want := range map[string]string{
		`{"policies": {"anonymus": {"limit": 5, "window": "1m"}}}`:                      `unknown policy "anonymus"`,
		`{"policies": {"uploads": {"limit": 0, "window": "1m"}}}`:                       "invalid limit",
		`{"policies": {"uploads": {"limit": 5, "window": "soon"}}}`:                     `window "soon"`,
		`{"policies": {"uploads": {"limit": 5, "window": "1m", "algorithm": "leaky"}}}`: "invalid limit",
		`not json`: "limits.json",
	} {
		err := app.Run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--rate-limits", limitsFile(t, body)},
			func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("policy file %s: err %v, want it to mention %q", body, err, want)
		}
	}
}
