package feed

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// behindStore reports the fan-out one event behind the outbox head until
// caughtUp is set; reads counts the offset re-reads, and each read of the
// offsets is reported on read.
type behindStore struct {
	lagStore
	caughtUp atomic.Bool
	reads    atomic.Int32
	read     chan struct{}
}

// offset fixes its answer before it reports the read: the test changes
// caughtUp once it has seen a read, and that read must still answer as
// before, or the reader may return one read early and the test wait for
// a read that never comes.
func (s *behindStore) offset() int64 {
	off := int64(4)
	if s.caughtUp.Load() {
		off = 5
	}
	s.read <- struct{}{}
	return off
}

func (s *behindStore) Lag(context.Context, string) (int64, int64, error) { return 5, s.offset(), nil }
func (s *behindStore) Offset(context.Context, string) (int64, error) {
	s.reads.Add(1)
	return s.offset(), nil
}

// A read that has to wait for the fan-out is woken by the consumer's
// announcement, not by its bound (ten seconds here), and re-reads the
// offsets only when woken.
func TestFeedReadWokenByFanOutAnnouncement(t *testing.T) {
	store := &behindStore{read: make(chan struct{})}
	progress := NewProgress()
	s := NewService(store, noPostViews{}, nil, Config{FreshWait: 10 * time.Second, StalledAfter: time.Minute, Progress: progress})
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		if _, err := s.Home(context.Background(), 1, "", 20); err != nil {
			t.Error(err)
		}
		done <- time.Since(start)
	}()

	// The read listens for announcements before it reads the offsets, so
	// once it has read them it is listening.
	<-store.read
	// An announcement of a position short of the head: the read re-reads,
	// finds itself still behind, and waits on.
	progress.Announce()
	<-store.read
	store.caughtUp.Store(true)
	progress.Announce()
	<-store.read
	var took time.Duration
	select {
	case took = <-done:
	case <-time.After(5 * time.Second): // half the bound: only the announcement can have ended the wait
		t.Fatal("the read did not wake at the fan-out's announcement")
	}
	t.Logf("read returned %v after it started, on the announcement (bound 10s); %d offset re-reads", took, store.reads.Load())
	if n := store.reads.Load(); n > 2 {
		t.Fatalf("%d offset re-reads for two announcements, want at most 2", n)
	}
}

// The fan-out announces each position once it is recorded, and not one
// whose handling failed.
func TestFanOutAnnouncesHandledPosition(t *testing.T) {
	type pos struct {
		source string
		seq    int64
	}
	var got []pos
	f := NewFanOut(&advanceStore{}, Config{Announce: func(source string, seq int64) { got = append(got, pos{source, seq}) }}, nil)
	ctx := context.Background()
	if err := f.Handle(ctx, "photofeed.events.PostLiked", nil, "db2", 7); err != nil {
		t.Fatal(err)
	}
	if err := f.Handle(ctx, "photofeed.events.PhotoPosted", []byte("not json"), "db2", 8); err == nil {
		t.Fatal("a malformed event was handled")
	}
	if len(got) != 1 || got[0] != (pos{"db2", 7}) {
		t.Fatalf("announced %v, want [{db2 7}]", got)
	}
}

type advanceStore struct{ TimelineStore }

func (advanceStore) Advance(context.Context, string, int64) error { return nil }

// A read waiting for the fan-out returns as soon as the bus carrying its
// news goes down, not at its bound; while it is down reads do not wait
// (nor read the offsets), and once it is back they wait again.
func TestFeedReadStopsWaitingWhenTheCarrierIsDown(t *testing.T) {
	store := &behindStore{read: make(chan struct{}, 1)}
	progress := NewProgress()
	s := NewService(store, noPostViews{}, nil, Config{FreshWait: 10 * time.Second, StalledAfter: time.Minute, Progress: progress})
	home := func() <-chan time.Duration {
		done := make(chan time.Duration, 1)
		go func() {
			start := time.Now()
			if _, err := s.Home(context.Background(), 1, "", 20); err != nil {
				t.Error(err)
			}
			done <- time.Since(start)
		}()
		return done
	}
	returned := func(done <-chan time.Duration, what string) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(5 * time.Second): // half the bound
			t.Fatalf("%s: the read still waits", what)
		}
	}

	done := home()
	<-store.read // it has read the offsets, behind: it waits
	progress.CarrierDown()
	returned(done, "the carrier went down while a read waited")
	// A read that was already waiting re-reads the offsets on waking; one
	// that had not yet begun to wait sees the carrier down and returns at
	// once. Either way any re-read reported itself before the read
	// returned (the channel has room for it).
	select {
	case <-store.read:
	default:
	}

	returned(home(), "a read while the carrier is down")
	select {
	case <-store.read:
		t.Fatal("a read while the carrier is down read the offsets")
	default:
	}

	progress.CarrierUp()
	done = home()
	<-store.read
	select {
	case <-done:
		t.Fatal("with the carrier back, a read behind the fan-out did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	store.caughtUp.Store(true)
	progress.Announce()
	<-store.read
	returned(done, "the announcement after the carrier came back")
}
