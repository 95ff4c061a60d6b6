package natsbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A consumer's lag counts the events it has not handled, delivered or
// not, and falls to nothing once it catches up; a consumer that does not
// exist has none to report.
func TestLags(t *testing.T) {
	b := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	lags, err := b.Lags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lags {
		if l.Consumer == "laggard" {
			t.Fatalf("Lags before the consumer exists: %+v", l)
		}
	}
	release := make(chan struct{})
	go b.Consume(ctx, natsbus.ConsumerConfig{Name: "laggard", Subjects: []string{"photofeed.events.Test"}},
		func(ctx context.Context, d natsbus.Delivery) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	for seq := int64(1); seq <= 3; seq++ {
		if err := b.Publish(ctx, outbox.Message{Seq: seq, ID: "lag-" + string(rune('0'+seq)), Subject: "photofeed.events.Test", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	lag := func() (natsbus.ConsumerLag, bool) {
		lags, err := b.Lags(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lags {
			if l.Consumer == "laggard" {
				return l, true
			}
		}
		return natsbus.ConsumerLag{}, false
	}
	testenv.Eventually(t, "three events behind", 10*time.Second, func() bool {
		l, ok := lag()
		return ok && l.Pending+uint64(l.AckPending) == 3 && l.AckPending > 0
	})
	close(release)
	testenv.Eventually(t, "caught up", 10*time.Second, func() bool {
		l, ok := lag()
		return ok && l.Pending == 0 && l.AckPending == 0
	})
}
