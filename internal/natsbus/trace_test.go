package natsbus_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/testenv"
)

// An outbox message's trace context reaches the consumer, and a message
// without one arrives without one.
func TestTraceParentTravelsWithTheEvent(t *testing.T) {
	b := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	got := map[int64]string{}
	go b.Consume(ctx, natsbus.ConsumerConfig{Name: "traced", Subjects: []string{"photofeed.events.Test"}},
		func(_ context.Context, d natsbus.Delivery) error {
			mu.Lock()
			got[d.OutboxSeq] = d.TraceParent
			mu.Unlock()
			return nil
		})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, m := range []outbox.Message{
		{Seq: 1, ID: "traced-1", Subject: "photofeed.events.Test", Body: []byte(`{}`), TraceParent: tp},
		{Seq: 2, ID: "traced-2", Subject: "photofeed.events.Test", Body: []byte(`{}`)},
	} {
		if err := b.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, "both events", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if got[1] != tp || got[2] != "" {
		t.Fatalf("trace contexts delivered %v, want %q and none", got, tp)
	}
}
