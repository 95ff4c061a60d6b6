package idempotency_test

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/sqlite"
)

type fixture struct {
	db    *sqlite.DB
	now   time.Time
	calls atomic.Int32
	h     http.Handler
}

// newFixture wraps a handler that creates a user named by the body, in the
// same store as the keys, and answers 201 with a counter.
func newFixture(t *testing.T, inner func(f *fixture) http.HandlerFunc, opts ...func(*idempotency.Config)) *fixture {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	cfg := idempotency.Config{
		Store: db.Idempotency(), TTL: time.Hour, LockTimeout: time.Minute,
		Scope: func(r *http.Request) string { return r.Header.Get("X-User") },
		Problem: func(w http.ResponseWriter, r *http.Request, status int, slug, detail string) {
			w.WriteHeader(status)
			io.WriteString(w, slug)
		},
		Recover: func(w http.ResponseWriter, r *http.Request, created idempotency.Resource) bool {
			w.WriteHeader(201)
			io.WriteString(w, "recovered "+created.String())
			return true
		},
		Now: func() time.Time { return f.now },
	}
	for _, o := range opts {
		o(&cfg)
	}
	f.h = idempotency.Middleware(cfg, inner(f))
	return f
}

// outcomes tallies what Config.Observe is told.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) observe(cfg *idempotency.Config) {
	o.n = map[string]int{}
	cfg.Observe = func(outcome string) {
		o.mu.Lock()
		o.n[outcome]++
		o.mu.Unlock()
	}
}

func (o *outcomes) want(t *testing.T, want map[string]int) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !maps.Equal(o.n, want) {
		t.Fatalf("observed %v, want %v", o.n, want)
	}
}

func createUser(f *fixture) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := f.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		name := strings.TrimSpace(string(body))
		err := f.db.Identity().CreateUser(r.Context(), identity.User{ID: int64(n), Username: name, DisplayName: name, CreatedAt: f.now}, "h", idempotency.ClaimOf(r))
		if err != nil {
			w.WriteHeader(409)
			fmt.Fprintf(w, "taken (call %d)", n)
			return
		}
		w.Header().Set("Location", "/users/"+name)
		w.WriteHeader(201)
		fmt.Fprintf(w, "created %s (call %d)", name, n)
	}
}

func (f *fixture) post(user, key, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/users", strings.NewReader(body))
	r.Header.Set("X-User", user)
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func TestReplayExpiryAndMismatch(t *testing.T) {
	var seen outcomes
	f := newFixture(t, createUser, seen.observe)
	first := f.post("u1", `"k-1"`, "alice")
	if first.Code != 201 || first.Body.String() != "created alice (call 1)" || first.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %q", first.Code, first.Body)
	}
	f.now = f.now.Add(59 * time.Minute)
	again := f.post("u1", `"k-1"`, "alice")
	if again.Code != 201 || again.Body.String() != first.Body.String() || again.Header().Get("Location") != "/users/alice" ||
		again.Header().Get("Idempotent-Replayed") != "true" || f.calls.Load() != 1 {
		t.Fatalf("replay: %d %q %v, handler calls %d", again.Code, again.Body, again.Header(), f.calls.Load())
	}
	if w := f.post("u1", `"k-1"`, "bob"); w.Code != 422 || w.Body.String() != "idempotency-key-reused" {
		t.Fatalf("other body, same key: %d %q", w.Code, w.Body)
	}
	// A 4xx answer is the request's result: stored and replayed too.
	taken := f.post("u1", `"k-2"`, "alice")
	if taken.Code != 409 {
		t.Fatalf("taken: %d", taken.Code)
	}
	if w := f.post("u1", `"k-2"`, "alice"); w.Code != 409 || w.Body.String() != taken.Body.String() || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replayed error: %d %q", w.Code, w.Body)
	}
	// The same key from another sender is another key.
	if w := f.post("u2", `"k-1"`, "carol"); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("another user's k-1: %d %q", w.Code, w.Body)
	}
	// After the TTL the key is forgotten: the request runs again.
	f.now = f.now.Add(time.Hour)
	if w := f.post("u1", `"k-1"`, "dave"); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" || !strings.Contains(w.Body.String(), "dave") {
		t.Fatalf("after expiry: %d %q", w.Code, w.Body)
	}
	// No key: no idempotency, nothing stored.
	calls := f.calls.Load()
	f.post("u1", "", "erin")
	f.post("u1", "", "erin")
	if f.calls.Load() != calls+2 {
		t.Fatal("requests without a key were deduplicated")
	}
	seen.want(t, map[string]int{idempotency.OutcomeExecuted: 4, idempotency.OutcomeReplayed: 2, idempotency.OutcomeMismatch: 1})
}

func TestInFlightAndCrashRecovery(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	var seen outcomes
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			switch string(body) {
			case "slow":
				close(entered)
				<-release
				w.WriteHeader(201)
			case "crash-after-commit":
				f.db.Identity().CreateUser(r.Context(), identity.User{ID: 9, Username: "zed", DisplayName: "z", CreatedAt: f.now}, "h", idempotency.ClaimOf(r))
				panic("process dies before the response is stored")
			case "crash-before-commit":
				panic("process dies before writing anything")
			}
		}
	}, seen.observe)
	done := make(chan int)
	go func() { done <- f.post("u", `"slow"`, "slow").Code }()
	<-entered
	if w := f.post("u", `"slow"`, "slow"); w.Code != 409 || w.Body.String() != "idempotency-key-in-use" {
		t.Fatalf("while in flight: %d %q", w.Code, w.Body)
	}
	close(release)
	if code := <-done; code != 201 {
		t.Fatalf("slow request: %d", code)
	}

	crash := func(key, body string) {
		defer func() { recover() }()
		f.post("u", key, body)
	}
	crash(`"a"`, "crash-after-commit")
	if w := f.post("u", `"a"`, "crash-after-commit"); w.Code != 201 || w.Body.String() != "recovered user:zed" {
		t.Fatalf("after a crash past the commit: %d %q (must not run again)", w.Code, w.Body)
	}
	crash(`"b"`, "crash-before-commit")
	if w := f.post("u", `"b"`, "slow-not"); w.Code == 409 {
		t.Fatalf("a key whose request crashed before writing stays locked: %d %q", w.Code, w.Body)
	}
	seen.want(t, map[string]int{idempotency.OutcomeExecuted: 4, idempotency.OutcomeInProgress: 1, idempotency.OutcomeRecovered: 1})
}

func TestParseKey(t *testing.T) {
	good := map[string]string{
		`"8e03978e-40d5-43e8-bc93-6894a57f9324"`: "8e03978e-40d5-43e8-bc93-6894a57f9324",
		`"a\"b\\c"`:                              `a"b\c`,
		`uuid-without-quotes`:                    "uuid-without-quotes",
		` "padded" `:                             "padded",
		`"` + strings.Repeat("x", 255) + `"`:     strings.Repeat("x", 255),
	}
	for in, want := range good {
		if got, ok := idempotency.ParseKey(in); !ok || got != want {
			t.Errorf("ParseKey(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{``, `""`, `"unterminated`, `"bad \x escape"`, `"tab	inside"`, `two words`, `a,b`,
		`"` + strings.Repeat("x", 256) + `"`, "\"caf\u00e9\"", `"a"b"`} {
		if got, ok := idempotency.ParseKey(bad); ok {
			t.Errorf("ParseKey(%q) accepted as %q", bad, got)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{`"abc"`, `abc`, `"a\"b"`, `""`, `"\`, "\"\x00\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, ok := idempotency.ParseKey(s)
		if !ok {
			return
		}
		if len(k) < 1 || len(k) > 255 {
			t.Fatalf("accepted key of length %d", len(k))
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x20 || k[i] > 0x7e {
				t.Fatalf("accepted non-printable byte %#x", k[i])
			}
		}
	})
}
