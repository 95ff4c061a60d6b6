// Package outbox relays events from the transactional outbox to the event
// bus. A write commits its events with it; the relay publishes them in
// order with their id as the bus's deduplication id, then marks them sent.
// A crash between publishing and marking republishes, and the bus drops the
// duplicate: nothing committed is lost, nothing is delivered twice.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/photofeed/photofeed/resilience"
)

// Message is one outbox row.
type Message struct {
	Seq       int64
	ID        string
	Subject   string
	Body      []byte
	CreatedAt time.Time
	// Source names the database of the outbox, where there are several
	// (each numbers its own messages).
	Source string
	// TraceParent is the W3C trace context of the request that wrote the
	// message, "" if it had none: the bus passes it on to consumers.
	TraceParent string
}

// Store is the outbox table.
type Store interface {
	// Pending returns unsent messages in seq order.
	Pending(ctx context.Context, limit int) ([]Message, error)
	// MarkSent marks exactly these messages sent. (Not "all up to a seq":
	// on PostgreSQL a lower seq can commit after a higher one.)
	MarkSent(ctx context.Context, seqs []int64, at time.Time) error
}

// Publisher puts a message on the bus and returns once the bus has it.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// Relay moves messages from a Store to a Publisher.
type Relay struct {
	store   Store
	pub     Publisher
	log     *slog.Logger
	cfg     RelayConfig
	backoff resilience.Backoff
}

// RelayConfig is what a relay is built with; zero values take the defaults.
type RelayConfig struct {
	// Source is set on every message relayed (see Message).
	Source string
	// Wake, if not nil, receives after a write commits to the store's
	// database, so its events leave without waiting for the next poll.
	Wake <-chan struct{}
	// Poll is how often the relay looks without being woken (default 200ms).
	Poll time.Duration
}

func NewRelay(store Store, pub Publisher, log *slog.Logger, cfg RelayConfig) *Relay {
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	return &Relay{store: store, pub: pub, log: log, cfg: cfg,
		backoff: resilience.Backoff{Base: 50 * time.Millisecond, Max: 5 * time.Second}}
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	failures := 0
	for {
		n, err := r.RelayOnce(ctx)
		var wait time.Duration
		switch {
		case err != nil && ctx.Err() == nil:
			wait = r.backoff.Delay(failures)
			failures++
			r.log.WarnContext(ctx, "outbox relay failed; retrying", "err", err, "retry_in", wait)
		case n > 0:
			failures = 0
			continue // drain a backlog without pausing
		default:
			failures = 0
			wait = r.cfg.Poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.cfg.Wake: // a nil channel: never
			t.Stop()
		case <-t.C:
		}
	}
}

// RelayOnce publishes one batch and reports how many went out.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	batch, err := r.store.Pending(ctx, 256)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sent := make([]int64, 0, len(batch))
	for _, m := range batch {
		m.Source = r.cfg.Source
		if err := r.pub.Publish(ctx, m); err != nil {
			if len(sent) > 0 {
				r.store.MarkSent(context.WithoutCancel(ctx), sent, time.Now())
			}
			return 0, fmt.Errorf("publish outbox %d: %w", m.Seq, err)
		}
		sent = append(sent, m.Seq)
	}
	if err := r.store.MarkSent(ctx, sent, time.Now()); err != nil {
		return 0, err
	}
	return len(batch), nil
}
