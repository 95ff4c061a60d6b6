package natsbus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A consumer deleted before Consume starts reading from it (between its
// creation and the first pull) still ends Consume, instead of leaving it
// pulling from nothing for good.
func TestConsumeEndsWhenItsConsumerIsDeletedAtOnce(t *testing.T) {
	srv := testenv.StartNATS(t, 1)
	b, err := natsbus.Open(t.Context(), natsbus.Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, natsbus.ConsumerConfig{Name: "early", Subjects: []string{"photofeed.events.Test"}},
			func(context.Context, natsbus.Delivery) error { return nil })
	}()
	// Delete it the moment it exists, before or while the first pull goes out.
	testenv.Eventually(t, "the consumer deleted", 10*time.Second, func() bool {
		return js.DeleteConsumer(t.Context(), natsbus.EventsStream, "early") == nil
	})
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "early") {
			t.Fatalf("Consume returned %v, want an error naming the consumer", err)
		}
		t.Logf("Consume ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("Consume still running 20 s after its consumer was deleted")
	}
}
