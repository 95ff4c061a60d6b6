package natsbus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A consumer deleted on the server ends Consume with an error naming it,
// and Ready reports it, where Consume used to wait on, handling nothing.
func TestConsumeEndsWhenItsConsumerIsDeleted(t *testing.T) {
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
		done <- b.Consume(ctx, natsbus.ConsumerConfig{Name: "doomed", Subjects: []string{"photofeed.events.Test"}},
			func(context.Context, natsbus.Delivery) error { return nil })
	}()
	// Waiting for a pull request, not only the consumer, so the deletion
	// comes while Consume reads, not between its creating and reading.
	testenv.Eventually(t, "the consumer created and read from", 10*time.Second, func() bool {
		c, err := js.Consumer(t.Context(), natsbus.EventsStream, "doomed")
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.NumWaiting > 0
	})
	if err := js.DeleteConsumer(t.Context(), natsbus.EventsStream, "doomed"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, jetstream.ErrConsumerDeleted) || !strings.Contains(err.Error(), "doomed") {
			t.Fatalf("Consume returned %v, want the consumer named, deleted", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Consume still running 15 s after its consumer was deleted")
	}
	if err := b.Ready(); err == nil || !strings.Contains(err.Error(), "doomed") {
		t.Fatalf("Ready() = %v, want the ended consumer named", err)
	}
}
