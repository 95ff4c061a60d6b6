package consistency_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/photofeed/photofeed/internal/consistency"
)

func TestParseLSN(t *testing.T) {
	for s, want := range map[string]consistency.LSN{"0/3016038": 0x3016038, "16/B374D848": 0x16_B374D848, "FFFFFFFF/FFFFFFFF": 1<<64 - 1} {
		got, err := consistency.ParseLSN(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseLSN(%q) = %v (%s), %v; want %v", s, got, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "/1", "1/", "x/1", "123456789/0", "0/1/2", "-1/0"} {
		if _, err := consistency.ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}

func FuzzParseLSN(f *testing.F) {
	f.Add("0/3016038")
	f.Add("16/B374D848")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := consistency.ParseLSN(s)
		if err != nil {
			return
		}
		if again, err := consistency.ParseLSN(l.String()); err != nil || again != l {
			t.Fatalf("%q → %v does not round-trip", s, l)
		}
	})
}

func TestToken(t *testing.T) {
	for s, want := range map[string]consistency.Token{
		"0/3016038":               {"": 0x3016038},
		"a:0/10.main:16/B374D848": {"a": 0x10, "main": 0x16_B374D848},
	} {
		got, err := consistency.ParseToken(s)
		if err != nil || len(got) != len(want) || got.String() != s {
			t.Errorf("ParseToken(%q) = %v, %v", s, got, err)
		}
		for db, l := range want {
			if got[db] != l {
				t.Errorf("ParseToken(%q)[%q] = %v, want %v", s, db, got[db], l)
			}
		}
	}
	for _, bad := range []string{"", ".", "a:", ":0/1", "A:0/1", "a:0/1.a:0/2", "a b:0/1", "a:0/1."} {
		if _, err := consistency.ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
	tok := consistency.Token{"a": 5, "": 3}
	if l, ok := tok.For("a"); !ok || l != 5 {
		t.Errorf("For(a) = %v, %v", l, ok)
	}
	if l, ok := tok.For("b"); !ok || l != 3 {
		t.Errorf("For(b) = %v, %v: want the single-database position", l, ok)
	}
	if _, ok := (consistency.Token{"a": 5}).For("b"); ok {
		t.Error("a token of database a constrains database b")
	}
}

// A request's writes add to the token it came with: writing to one
// database and then to another, a client still sees the first.
func TestTrackerMerges(t *testing.T) {
	var tr consistency.Tracker
	if tok := tr.Token(consistency.Token{"a": 9}); tok != nil {
		t.Fatalf("no writes, token %v", tok)
	}
	tr.Observe("b", 7)
	tr.Observe("b", 4)
	tok := tr.Token(consistency.Token{"a": 9, "b": 2})
	if tok.String() != "a:0/9.b:0/7" {
		t.Fatalf("merged token %v", tok)
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("0/3016038")
	f.Add("a:0/10.main:16/B374D848")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := consistency.ParseToken(s)
		if err != nil {
			return
		}
		again, err := consistency.ParseToken(tok.String())
		if err != nil || again.String() != tok.String() {
			t.Fatalf("%q → %v does not round-trip", s, tok)
		}
	})
}

// Trackers hands a commit's position to the tracker of the request that
// made it, whose answer then carries it; outside a request it observes
// nothing.
func TestTrackersRecordARequestsCommits(t *testing.T) {
	var trackers consistency.Trackers
	if trackers.Observing(t.Context()) {
		t.Fatal("observing outside a request")
	}
	trackers.Committed(t.Context(), "a", 9) // no request's: dropped
	h := consistency.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !trackers.Observing(r.Context()) {
			t.Error("not observing a request's commits")
		}
		trackers.Committed(r.Context(), "a", 5)
		w.WriteHeader(http.StatusCreated)
	}))
	r := httptest.NewRequest("POST", "/v2/posts", nil)
	r.Header.Set(consistency.Header, "b:0/7")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Header().Get(consistency.Header); got != "a:0/5.b:0/7" {
		t.Fatalf("token %q, want the write's position on top of the one the request came with", got)
	}
}
