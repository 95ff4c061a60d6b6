package natsbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/testenv"
)

// Pending is a consumer's lag: events not yet delivered or not yet
// acknowledged, back to none once it has handled them.
func TestPendingIsAConsumersLag(t *testing.T) {
	b := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, _, err := b.Pending(ctx, "lagging"); err == nil {
		t.Fatal("Pending of a consumer that does not exist: no error")
	}
	release := make(chan struct{})
	go b.Consume(ctx, natsbus.ConsumerConfig{Name: "lagging", Subjects: []string{"photofeed.events.Test"}},
		func(ctx context.Context, _ natsbus.Delivery) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
	for i := range 3 {
		id := "lag-" + string(rune('a'+i))
		if err := b.Publish(ctx, outbox.Message{Seq: int64(i + 1), ID: id, Subject: "photofeed.events.Test", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	lag := func() int {
		pending, unacked, err := b.Pending(ctx, "lagging")
		if err != nil {
			return -1
		}
		return int(pending) + unacked
	}
	testenv.Eventually(t, "a lag of 3 events", 10*time.Second, func() bool { return lag() == 3 })
	close(release)
	testenv.Eventually(t, "no lag once handled", 10*time.Second, func() bool { return lag() == 0 })
}

// An announcer never holds its node up: with no server to reach, it
// connects in the background and a broadcast returns at once.
func TestAnnouncerDoesNotWaitForTheBus(t *testing.T) {
	a, err := natsbus.DialAnnouncer("nats://127.0.0.1:1")
	if err != nil {
		t.Fatalf("dial with no server: %v", err)
	}
	defer a.Close()
	start := time.Now()
	for range 100 {
		a.Broadcast("photofeed.nodes.heartbeat", []byte(`{}`))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("100 broadcasts with the bus down took %s", d)
	}
}
