package app

import (
	"net/http/httptest"
	"testing"
)

// /readyz follows the store: 200 while it answers, 503 once it does not,
// while /healthz (the process is alive) stays 200.
func TestReadyzFollowsTheStore(t *testing.T) {
	n := newTestNode(t)
	get := func(path string) int {
		rec := httptest.NewRecorder()
		n.handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	if c := get("/readyz"); c != 200 {
		t.Fatalf("readyz with the store up: %d", c)
	}
	n.Close() // the database goes away
	if c := get("/readyz"); c != 503 {
		t.Fatalf("readyz with the store closed: %d, want 503", c)
	}
	if c := get("/healthz"); c != 200 {
		t.Fatalf("healthz: %d", c)
	}
}
