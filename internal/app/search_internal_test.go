package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With its index unusable, search answers 503 and the rest works.
func TestSearchDownLeavesTheRestUp(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "search.bleve"), []byte("not an index"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, "--data-dir", dir)
	stop := w.n.start(context.Background())
	defer stop()
	serve := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		w.n.handler.ServeHTTP(rec, r)
		return rec
	}
	if rec := serve("GET", "/v2/search?q=x", ""); rec.Code != http.StatusServiceUnavailable ||
		rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("search with its index down: %d %s", rec.Code, rec.Body)
	}
	if rec := serve("POST", "/v2/accounts", `{"username":"still_works","password":"0123456789"}`); rec.Code != 201 {
		t.Fatalf("sign-up with search down: %d %s", rec.Code, rec.Body)
	}
	if rec := serve("GET", "/explore?q=x", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("search page with the index down: %d", rec.Code)
	}
}

// `photofeed reindex` rebuilds the index from the database alone.
func TestReindexFromTheStore(t *testing.T) {
	dir := t.TempDir()
	w := newWorld(t, "--data-dir", dir) // no background: nothing gets indexed by events
	alice := w.user("alice")
	w.post(alice)
	w.post(alice)
	w.n.Close()

	var out bytes.Buffer
	if err := Run(context.Background(), []string{"reindex", "--data-dir", dir}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "reindexed 1 users and 2 posts") {
		t.Fatalf("reindex said %q", out.String())
	}
	w2 := newWorld(t, "--data-dir", dir)
	defer w2.n.Close()
	rec := httptest.NewRecorder()
	w2.n.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/search?type=users&q=alice", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"username":"alice"`) {
		t.Fatalf("search after reindex: %d %s", rec.Code, rec.Body)
	}
	// While a server holds the index, reindex refuses at once.
	err := Run(context.Background(), []string{"reindex", "--data-dir", dir}, func(string) string { return "" }, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("reindex beside a running server: %v", err)
	}
}
