package posts

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// statusStore holds one post, processing until ready is set; every read
// of it is reported on read.
type statusStore struct {
	Store
	ready atomic.Bool
	read  chan struct{}
}

func (s *statusStore) Post(_ context.Context, id int64) (Post, error) {
	s.read <- struct{}{}
	if s.ready.Load() {
		return Post{ID: id, Status: Ready}, nil
	}
	return Post{ID: id, Status: Processing}, nil
}

// An upload's wait ends at the job's announcement, long before its bound
// (ten seconds here); an announcement for another post does not end it.
func TestWaitReadyWokenBySettlement(t *testing.T) {
	store := &statusStore{read: make(chan struct{})}
	settled := NewSettlements()
	s := NewService(store, nil, nil, nil, Config{Settlements: settled})
	type result struct {
		p    Post
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		p, err := s.WaitReady(context.Background(), 42, 10*time.Second)
		done <- result{p, err, time.Since(start)}
	}()
	<-store.read // it watches before it reads: from here it is listening
	settled.Settled(7)
	select {
	case r := <-done:
		t.Fatalf("another post's settlement ended the wait: %+v", r)
	default:
	}
	store.ready.Store(true)
	settled.Settled(42)
	<-store.read
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second): // half the bound: only the announcement can have ended the wait
		t.Fatal("the wait did not end at the post's settlement")
	}
	if r.err != nil || r.p.Status != Ready {
		t.Fatalf("got %+v, %v; want the ready post", r.p, r.err)
	}
	t.Logf("upload wait returned %v after it started, on the announcement (bound 10s)", r.took)
	if n := len(settled.waiting); n != 0 {
		t.Fatalf("%d posts still watched after the wait", n)
	}
}

// At the bound the post is read once more and returned as it stands.
func TestWaitReadyBoundRereads(t *testing.T) {
	store := &statusStore{read: make(chan struct{}, 2)}
	s := NewService(store, nil, nil, nil, Config{})
	p, err := s.WaitReady(context.Background(), 42, time.Millisecond)
	if err != nil || p.Status != Processing {
		t.Fatalf("got %+v, %v; want the post still processing", p, err)
	}
	if n := len(store.read); n != 2 {
		t.Fatalf("%d reads, want 2 (at the start and at the bound)", n)
	}
}
