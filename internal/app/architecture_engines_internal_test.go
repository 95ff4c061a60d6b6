package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/internal/topology"
)

// The bus's box on the architecture page shows the fan-out consumer's
// lag as the bus reports it: unknown before the consumer exists, the
// events it has not handled, none once it catches up.
func TestBusEngineShowsFanOutLag(t *testing.T) {
	b, err := natsbus.Open(t.Context(), natsbus.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	facts := func() map[string]string {
		e := withLag(ctx, b, topology.Engine{ID: "nats-1", State: topology.EngineUp})
		out := map[string]string{}
		for _, f := range e.Facts {
			out[f.Label] = f.Value
		}
		return out
	}
	if f := facts(); f["fan-out lag"] != "unknown" || len(f) != 1 {
		t.Fatalf("before the fan-out consumer exists: %v, want the lag unknown", f)
	}
	if e := withLag(ctx, b, topology.Engine{State: topology.EngineDown}); len(e.Facts) != 0 {
		t.Errorf("a bus that is down: facts %v, want none", e.Facts)
	}

	release := make(chan struct{})
	go b.Consume(ctx, natsbus.ConsumerConfig{Name: feed.ConsumerName, Subjects: []string{"photofeed.events.Test"}},
		func(ctx context.Context, _ natsbus.Delivery) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	for seq := int64(1); seq <= 2; seq++ {
		m := outbox.Message{Seq: seq, ID: fmt.Sprintf("lag-%d", seq), Subject: "photofeed.events.Test", Body: []byte(`{}`)}
		if err := b.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var f map[string]string
	behind := func(lag, unacked string) func() bool {
		return func() bool { f = facts(); return f["fan-out lag"] == lag && f["fan-out unacked"] == unacked }
	}
	// One event delivered and held, the other waiting its turn.
	if !testenv.Poll(10*time.Second, func() bool { return behind("1 events", "1")() || behind("0 events", "2")() }) {
		t.Fatalf("two events behind: facts %v", f)
	}
	close(release)
	if !testenv.Poll(10*time.Second, behind("0 events", "0")) {
		t.Fatalf("caught up: facts %v", f)
	}
}
