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
// and Ready reports it, where Consume used to wait on, handling nothing:
// whether it is deleted while Consume reads from it, or at once, before
// the first pull (then its pulls go unanswered and are never told why).
func TestConsumeEndsWhenItsConsumerIsDeleted(t *testing.T) {
	for _, tt := range []struct {
		name     string
		whenRead bool // delete only once Consume has a pull waiting
	}{
		{"while reading", true},
		{"at once", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
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
			testenv.Eventually(t, "the consumer deleted", 10*time.Second, func() bool {
				if tt.whenRead {
					c, err := js.Consumer(t.Context(), natsbus.EventsStream, "doomed")
					if err != nil {
						return false
					}
					if info, err := c.Info(t.Context()); err != nil || info.NumWaiting == 0 {
						return false
					}
				}
				return js.DeleteConsumer(t.Context(), natsbus.EventsStream, "doomed") == nil
			})
			deadline := time.After(20 * time.Second)
			for ended := false; !ended; {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), "doomed") {
						t.Fatalf("Consume returned %v, want an error naming the consumer", err)
					}
					if tt.whenRead && !errors.Is(err, jetstream.ErrConsumerDeleted) {
						t.Fatalf("Consume returned %v, want the consumer deleted", err)
					}
					ended = true
				case <-time.After(100 * time.Millisecond):
					// A delete that lands while Consume is still making its
					// consumer (a first try slow to answer is tried again)
					// is undone by the retry, as it should be: the consumer
					// is back, and deleting it again is the case above.
					if !tt.whenRead {
						js.DeleteConsumer(t.Context(), natsbus.EventsStream, "doomed")
					}
				case <-deadline:
					t.Fatal("Consume still running 20 s after its consumer was deleted")
				}
			}
			if err := b.Ready(); err == nil || !strings.Contains(err.Error(), "doomed") {
				t.Fatalf("Ready() = %v, want the ended consumer named", err)
			}
		})
	}
}
