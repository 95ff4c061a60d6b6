package outbox_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/outbox"
)

// memStore is an outbox in memory.
type memStore struct {
	mu      sync.Mutex
	pending []outbox.Message
}

func (s *memStore) add(m outbox.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, m)
}

func (s *memStore) Pending(_ context.Context, limit int) ([]outbox.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]outbox.Message(nil), s.pending[:min(limit, len(s.pending))]...), nil
}

func (s *memStore) MarkSent(_ context.Context, seqs []int64, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = s.pending[len(seqs):] // sent in order, from the front
	return nil
}

type chanPublisher chan outbox.Message

func (p chanPublisher) Publish(_ context.Context, m outbox.Message) error {
	p <- m
	return nil
}

// With a poll far longer than the test, only the wake-up can make the
// relay look again; every message leaves named with the relay's source.
func TestRelayWakesAndNamesSource(t *testing.T) {
	store, pub := &memStore{}, make(chanPublisher, 1)
	wake := make(chan struct{}, 1)
	relay := outbox.NewRelay(store, pub, slog.New(slog.NewTextHandler(io.Discard, nil)),
		outbox.RelayConfig{Source: "db2", Wake: wake, Poll: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for seq := int64(1); seq <= 2; seq++ {
		store.add(outbox.Message{Seq: seq, Subject: "s"})
		wake <- struct{}{}
		select {
		case m := <-pub:
			if m.Seq != seq || m.Source != "db2" {
				t.Fatalf("relayed %+v, want seq %d from db2", m, seq)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d not relayed after the wake-up", seq)
		}
	}
}
