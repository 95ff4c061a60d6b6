package httplimit

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/ratelimit"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// loginServer is the middleware in front of a login handler that counts
// its password checks: "right" is the password.
type loginServer struct {
	h      http.Handler
	clock  *fakeClock
	checks atomic.Int32
	hold   chan struct{} // when set, a check waits for it
}

func newLoginServer(t *testing.T, ab AccountBackoff) *loginServer {
	t.Helper()
	s := &loginServer{clock: &fakeClock{t: time.Unix(1_800_000_000, 0)}}
	cfg := Config{Policies: map[string]ratelimit.Limit{
		LoginFailures: {Requests: 1000, Window: time.Hour, Algorithm: ratelimit.SlidingWindowLog},
	}, AccountBackoff: ab}
	l := New(ratelimit.NewMemory(ratelimit.MemoryConfig{Now: s.clock.now}), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	l.now = s.clock.now
	s.h = l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.checks.Add(1)
		if s.hold != nil {
			<-s.hold
		}
		if r.PostFormValue("password") != "right" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	return s
}

// login tries name's password from addr and returns the status and the
// Retry-After in seconds.
func (s *loginServer) login(name, password, addr string) (int, int) {
	r := httptest.NewRequest("POST", "/v1/sessions", strings.NewReader("username="+name+"&password="+password))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	ra, _ := strconv.Atoi(w.Header().Get("Retry-After"))
	return w.Code, ra
}

// Guesses at one account from ever new addresses are slowed: after Free
// failures each check waits twice as long as the last, up to Max; the
// owner on an address they have logged in from before is not slowed, and
// on a new one waits at most Max.
func TestAccountBackoff(t *testing.T) {
	s := newLoginServer(t, AccountBackoff{Free: 3, Base: Duration(time.Second), Max: Duration(8 * time.Second), Forget: Duration(15 * time.Minute)})
	if code, _ := s.login("alice", "right", "192.0.2.1"); code != 201 {
		t.Fatalf("owner's first login: %d", code)
	}
	addr := 0
	attacker := func() (int, int) {
		addr++
		return s.login("Alice", "guess", "198.51.100."+strconv.Itoa(addr))
	}
	for i := range 2 {
		if code, _ := attacker(); code != 401 {
			t.Fatalf("free failure %d: %d", i, code)
		}
	}
	for _, wait := range []int{1, 2, 4, 8, 8} {
		if code, _ := attacker(); code != 401 {
			t.Fatalf("the check after the wait: %d", code)
		}
		code, ra := attacker()
		if code != 429 || ra != wait {
			t.Fatalf("during the back-off: %d, Retry-After %d; want 429 after %d s", code, ra, wait)
		}
		// The owner, from home, is not held up; from a new address the
		// wait is never longer than Max.
		if code, _ := s.login("alice", "right", "192.0.2.1"); code != 201 {
			t.Fatalf("owner from a known address during the back-off: %d", code)
		}
		if code, ra := s.login("alice", "right", "203.0.113.9"); code != 429 || ra > 8 {
			t.Fatalf("owner from a new address: %d, Retry-After %d", code, ra)
		}
		s.clock.advance(time.Duration(wait) * time.Second)
	}
	checks := s.checks.Load()
	// Parallel guesses during the back-off all wait; after it, only one
	// goes through to the password at a time.
	s.hold = make(chan struct{})
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Go(func() {
			code, _ := s.login("alice", "guess", "198.51.100.200")
			codes <- code
		})
	}
	testenv.Poll(10*time.Second, func() bool { return s.checks.Load() != checks })
	close(s.hold)
	wg.Wait()
	close(codes)
	n401 := 0
	for c := range codes {
		if c == 401 {
			n401++
		}
	}
	if n401 != 1 {
		t.Fatalf("%d of 20 parallel guesses were checked, want 1", n401)
	}
	// A quiet spell clears the failures.
	s.clock.advance(15 * time.Minute)
	for i := range 3 {
		if code, _ := attacker(); code != 401 {
			t.Fatalf("after the quiet spell, failure %d: %d", i, code)
		}
	}
}

// A check still in flight when the owner logs in from a new address keeps
// its place in the account's count: when it ends it must not take a later
// check's place, or the count goes wrong (negative) and the rule of one
// check at a time past Free no longer holds.
func TestAccountBackoffSuccessKeepsChecksInFlight(t *testing.T) {
	b := newBackoff(AccountBackoff{Free: 3, Base: Duration(time.Second), Max: Duration(8 * time.Second), Forget: Duration(15 * time.Minute)})
	now := time.Unix(1_800_000_000, 0)
	begin := func(addr string) bool {
		t.Helper()
		ok, known, _ := b.begin("alice", addr, now)
		if known {
			t.Fatalf("%s is not a known address", addr)
		}
		return ok
	}
	inflight := func() int {
		if a := b.accounts["alice"]; a != nil {
			return a.inflight
		}
		return 0
	}
	if !begin("198.51.100.1") || !begin("192.0.2.1") {
		t.Fatal("the first checks were refused")
	}
	b.end("alice", "192.0.2.1", false, false, true, now) // the owner, from a new address
	if !begin("198.51.100.2") {
		t.Fatal("a check after the owner's login was refused")
	}
	b.end("alice", "198.51.100.1", false, true, false, now) // began before the owner's login
	if got := inflight(); got != 1 {
		t.Fatalf("%d checks in flight, want 1 (198.51.100.2)", got)
	}
	b.end("alice", "198.51.100.2", false, true, false, now)
	if got := inflight(); got != 0 {
		t.Fatalf("%d checks in flight after all ended, want 0", got)
	}
	// Two failures counted: one more check is free, and while it runs no
	// other is let in.
	if !begin("198.51.100.3") {
		t.Fatal("the third check was refused")
	}
	if begin("198.51.100.4") {
		t.Fatal("a second check in parallel past Free was let in")
	}
	b.end("alice", "198.51.100.3", false, true, false, now)
	if got := inflight(); got != 0 {
		t.Fatalf("%d checks in flight after all ended, want 0", got)
	}
}
