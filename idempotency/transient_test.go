package idempotency_test

import (
	"net/http"
	"testing"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/identity"
)

// A server error or a 429 says "not now", not "this is the answer": it is
// never kept for the key, so the retry runs again instead of being told
// the same thing for the key's lifetime. A 4xx about the request itself is
// its answer and is replayed.
func TestTransientAnswersAreNotReplayed(t *testing.T) {
	for _, tc := range []struct {
		status int
		replay bool
	}{
		{http.StatusServiceUnavailable, false},
		{http.StatusInternalServerError, false},
		{http.StatusGatewayTimeout, false},
		{http.StatusTooManyRequests, false},
		{http.StatusConflict, true},
		{http.StatusUnprocessableEntity, true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := newFixture(t, func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if f.calls.Add(1) == 1 {
						w.Header().Set("Retry-After", "5")
						w.WriteHeader(tc.status)
						return
					}
					w.WriteHeader(201)
				}
			})
			if w := f.post("u", `"k"`, "alice"); w.Code != tc.status {
				t.Fatalf("first: %d, want %d", w.Code, tc.status)
			}
			w := f.post("u", `"k"`, "alice")
			switch {
			case tc.replay && (w.Code != tc.status || w.Header().Get("Idempotent-Replayed") != "true" || f.calls.Load() != 1):
				t.Fatalf("retry of a %d: %d, replayed %q, handler calls %d; want the %d replayed", tc.status, w.Code, w.Header().Get("Idempotent-Replayed"), f.calls.Load(), tc.status)
			case !tc.replay && (w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "" || f.calls.Load() != 2):
				t.Fatalf("retry of a %d: %d, replayed %q, handler calls %d; want it run again", tc.status, w.Code, w.Header().Get("Idempotent-Replayed"), f.calls.Load())
			}
		})
	}
}

// A request whose write committed and whose answer was then a server error
// keeps its key committed: the retry is answered from what it created,
// never run twice.
func TestServerErrorAfterTheCommitIsRecovered(t *testing.T) {
	f := newFixture(t, func(f *fixture) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if f.calls.Add(1) > 1 {
				t.Error("the request ran again")
			}
			f.db.Identity().CreateUser(r.Context(), identity.User{ID: 3, Username: "kim", DisplayName: "k", CreatedAt: f.now}, "h", idempotency.ClaimOf(r))
			w.WriteHeader(http.StatusInternalServerError) // rendering the answer failed
		}
	})
	if w := f.post("u", `"k"`, "kim"); w.Code != 500 {
		t.Fatalf("first: %d", w.Code)
	}
	if w := f.post("u", `"k"`, "kim"); w.Code != 201 || w.Body.String() != "recovered user:kim" {
		t.Fatalf("retry after a committed write answered 500: %d %q", w.Code, w.Body)
	}
}

// Idempotent-Replayed says the answer is the original request's: a
// recovered create carries it, the 409 of a create that cannot be
// recovered does not.
func TestReplayedOnlyWhenRecovered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recovers bool
		status   int
		replayed string
	}{
		{"recovered", true, http.StatusCreated, "true"},
		{"lost", false, http.StatusConflict, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(f *fixture) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					f.db.Identity().CreateUser(r.Context(), identity.User{ID: 4, Username: "lee", DisplayName: "l", CreatedAt: f.now}, "h", idempotency.ClaimOf(r))
					w.WriteHeader(http.StatusInternalServerError)
				}
			}, func(cfg *idempotency.Config) {
				recoverCreated := cfg.Recover
				cfg.Recover = func(w http.ResponseWriter, r *http.Request, created idempotency.Resource) bool {
					return tc.recovers && recoverCreated(w, r, created)
				}
			})
			f.post("u", `"k"`, "lee")
			w := f.post("u", `"k"`, "lee")
			if w.Code != tc.status || w.Header().Get("Idempotent-Replayed") != tc.replayed {
				t.Fatalf("retry: %d, Idempotent-Replayed %q; want %d, %q", w.Code, w.Header().Get("Idempotent-Replayed"), tc.status, tc.replayed)
			}
		})
	}
}
