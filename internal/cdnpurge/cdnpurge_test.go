package cdnpurge_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/cdnpurge"
	"github.com/photofeed/photofeed/internal/events"
)

func TestNewRejectsBadTemplates(t *testing.T) {
	for _, tpl := range []string{"", "http://edge/purge", "ftp://edge{path}", "{path}", "http://{path}"} {
		if _, err := cdnpurge.New(cdnpurge.Config{URL: tpl, Method: "PURGE"}); err == nil {
			t.Errorf("New(%q): no error", tpl)
		}
	}
}

// Each distinct key is purged once; a 404 (not cached) is success, a 5xx
// is an error so the event is retried.
func TestHandle(t *testing.T) {
	var mu sync.Mutex
	var got []string
	status := http.StatusOK
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Method+" "+r.URL.Path)
		w.WriteHeader(status)
	}))
	defer edge.Close()
	p, err := cdnpurge.New(cdnpurge.Config{URL: edge.URL + "/purge{path}", Method: "purge"})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := events.New(events.PhotoDeleted, events.PhotoDeletedV1{PostID: 1, AuthorID: 2,
		MediaKeys: []string{"aaa.jpg", "bbb.jpg", "aaa.jpg", ""}}, time.Now())
	data := mustJSON(t, e)
	ctx := context.Background()
	if err := p.Handle(ctx, e.Subject(), data); err != nil {
		t.Fatal(err)
	}
	if want := []string{"PURGE /purge/media/aaa.jpg", "PURGE /purge/media/bbb.jpg"}; !slices.Equal(got, want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
	status = http.StatusNotFound
	if err := p.Handle(ctx, e.Subject(), data); err != nil {
		t.Fatalf("404 from the edge: %v", err)
	}
	status = http.StatusBadGateway
	if err := p.Handle(ctx, e.Subject(), data); err == nil {
		t.Fatal("502 from the edge: no error")
	}
	if err := p.Handle(ctx, events.SubjectPrefix+events.PhotoPosted, data); err != nil {
		t.Fatalf("other subjects are ignored: %v", err)
	}
}

func mustJSON(t *testing.T, e events.Event) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Before runs for a key ahead of its purge, and its failure stops it.
func TestBeforeRunsFirst(t *testing.T) {
	var order []string
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		order = append(order, "purge "+r.URL.Path)
	}))
	defer edge.Close()
	before := func(_ context.Context, key string) error {
		order = append(order, "before "+key)
		if key == "bad.jpg" {
			return errors.New("store down")
		}
		return nil
	}
	p, _ := cdnpurge.New(cdnpurge.Config{URL: edge.URL + "{path}", Method: "POST", Before: before})
	e, _ := events.New(events.PhotoDeleted, events.PhotoDeletedV1{PostID: 1, AuthorID: 2, MediaKeys: []string{"one.jpg", "bad.jpg"}}, time.Now())
	if err := p.Handle(context.Background(), e.Subject(), mustJSON(t, e)); err == nil {
		t.Fatal("a failing Before did not fail the event")
	}
	want := []string{"before one.jpg", "purge /media/one.jpg", "before bad.jpg"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}
