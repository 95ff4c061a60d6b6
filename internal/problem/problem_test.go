package problem_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/problem"
)

// The answer for each error kind, byte for byte: clients and the OpenAPI
// document depend on these.
func TestWriteErrorAnswersEachKind(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		body   string
		header map[string]string
	}{
		{&errkind.Error{Kind: errkind.Invalid, Message: "the request has invalid fields", Fields: map[string]string{"username": "is taken"}}, 422,
			`{"type":"/problems/validation-error","title":"Unprocessable Entity","status":422,"detail":"the request has invalid fields","errors":{"username":"is taken"}}`, nil},
		{errkind.New(errkind.Malformed, "bad cursor"), 400, `{"type":"/problems/bad-request","title":"Bad Request","status":400,"detail":"bad cursor"}`, nil},
		{fmt.Errorf("load: %w", errkind.New(errkind.NotFound, "no such post")), 404, `{"type":"/problems/not-found","title":"Not Found","status":404,"detail":"no such post"}`, nil},
		{errkind.New(errkind.Conflict, "taken"), 409, `{"type":"/problems/conflict","title":"Conflict","status":409,"detail":"taken"}`, nil},
		{errkind.New(errkind.Unauthenticated, "sign in"), 401, `{"type":"/problems/unauthenticated","title":"Unauthorized","status":401,"detail":"sign in"}`,
			map[string]string{"WWW-Authenticate": `Bearer realm="photofeed"`}},
		{errkind.New(errkind.Forbidden, "no"), 403, `{"type":"/problems/forbidden","title":"Forbidden","status":403,"detail":"no"}`, nil},
		{errkind.New(errkind.TooLarge, "big"), 413, `{"type":"/problems/too-large","title":"Request Entity Too Large","status":413,"detail":"big"}`, nil},
		{errkind.New(errkind.Unsupported, "png?"), 415, `{"type":"/problems/unsupported-media-type","title":"Unsupported Media Type","status":415,"detail":"png?"}`, nil},
		{errkind.New(errkind.Unavailable, "down"), 503, `{"type":"/problems/unavailable","title":"Service Unavailable","status":503,"detail":"down"}`,
			map[string]string{"Retry-After": "5"}},
		{errors.New("disk on fire at /var/db"), 500,
			`{"type":"/problems/internal","title":"Internal Server Error","status":500,"detail":"something went wrong on our side; the request id identifies it in our logs"}`, nil},
		{errkind.New(errkind.Internal, "secret detail"), 500,
			`{"type":"/problems/internal","title":"Internal Server Error","status":500,"detail":"something went wrong on our side; the request id identifies it in our logs"}`, nil},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var logs bytes.Buffer
			w := httptest.NewRecorder()
			problem.WriteError(w, httptest.NewRequest("GET", "/", nil), slog.New(slog.NewTextHandler(&logs, nil)), tc.err)
			if w.Code != tc.status || w.Body.String() != tc.body+"\n" {
				t.Errorf("answered %d %s, want %d %s", w.Code, w.Body, tc.status, tc.body)
			}
			if got := problem.Status(errkind.Of(tc.err)); got != tc.status {
				t.Errorf("Status = %d, want %d", got, tc.status)
			}
			if ct, cc := w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"); ct != "application/problem+json" || cc != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
			for k, v := range tc.header {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if logged := logs.Len() > 0; logged != (tc.status >= 500) {
				t.Errorf("logged %v for a %d:\n%s", logged, tc.status, logs.String())
			}
		})
	}
}

// Every error kind has its own answer; a kind missing from the table would
// answer status 0.
func TestEveryKindHasAStatus(t *testing.T) {
	kinds := []errkind.Kind{errkind.Internal, errkind.Invalid, errkind.Malformed, errkind.NotFound, errkind.Conflict,
		errkind.Unauthenticated, errkind.Forbidden, errkind.TooLarge, errkind.Unsupported, errkind.Unavailable}
	for _, k := range kinds {
		if s := problem.Status(k); s < 400 || s > 599 {
			t.Errorf("kind %d answers %d", k, s)
		}
	}
	if n := len(problem.Slugs()); n != len(kinds) {
		t.Errorf("%d slugs for %d kinds", n, len(kinds))
	}
}

// A failure caused by the client closing its request is answered 499 and
// not logged as an error; the same error with the client still there is.
func TestClientClosedIsNotOurFailure(t *testing.T) {
	err := fmt.Errorf("query: %w", context.Canceled)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	gone := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	here := httptest.NewRequest("GET", "/", nil)
	if !problem.ClientClosed(gone, err) || problem.ClientClosed(here, err) || problem.ClientClosed(gone, errors.New("other")) {
		t.Fatal("ClientClosed misjudges")
	}
	var logs bytes.Buffer
	w := httptest.NewRecorder()
	problem.WriteError(w, gone, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError})), err)
	want := `{"type":"/problems/client-closed-request","title":"Client Closed Request","status":499,"detail":"the client closed the request before it was answered"}` + "\n"
	if w.Code != 499 || w.Body.String() != want || logs.Len() > 0 {
		t.Fatalf("answered %d %s; logs %s", w.Code, w.Body, logs.String())
	}
}

// A handler returning Details has it written as it stands.
func TestDetailsIsAnError(t *testing.T) {
	var err error = problem.BadRequest("bad limit", map[string]string{"limit": "too big"})
	d, ok := errors.AsType[*problem.Details](err)
	if !ok || err.Error() != "bad limit" || d.Status != http.StatusBadRequest || d.Type != problem.Base+"bad-request" {
		t.Fatalf("%#v", err)
	}
}

func TestRecoverAnswers500(t *testing.T) {
	var logs bytes.Buffer
	h := problem.Recover(slog.New(slog.NewTextHandler(&logs, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 500 || !bytes.Contains(w.Body.Bytes(), []byte(`"/problems/internal"`)) || !bytes.Contains(logs.Bytes(), []byte("boom")) {
		t.Fatalf("answered %d %s; logs %s", w.Code, w.Body, logs.String())
	}
}

// The mux's own 404 and 405 become problems; a browser's 404 gets the page.
func TestNotFoundAndMethod(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /thing", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("thing")) })
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404); w.Write([]byte("<p>page")) })
	h := problem.NotFoundAndMethod(mux, page)
	for _, tc := range []struct {
		method, path, accept string
		status               int
		body                 string
	}{
		{"GET", "/thing", "", 200, "thing"},
		{"DELETE", "/thing", "", 405, `{"type":"/problems/method-not-allowed","title":"Method Not Allowed","status":405,"detail":"DELETE is not allowed here; allowed: GET, HEAD"}` + "\n"},
		{"GET", "/nope", "application/json", 404, `{"type":"/problems/not-found","title":"Not Found","status":404,"detail":"no resource at \"/nope\""}` + "\n"},
		{"GET", "/nope", "text/html", 404, "<p>page"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Header.Set("Accept", tc.accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s %s (%s): %d %q, want %d %q", tc.method, tc.path, tc.accept, w.Code, w.Body, tc.status, tc.body)
		}
	}
}
