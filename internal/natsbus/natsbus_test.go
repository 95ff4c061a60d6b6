package natsbus_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/resilience"
)

func open(t *testing.T) *natsbus.Bus {
	b, err := natsbus.Open(t.Context(), natsbus.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Publishing one outbox message twice (a relay that crashed before marking
// it sent) delivers it once.
func TestPublishDeduplicates(t *testing.T) {
	b := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var got []int64
	go b.Consume(ctx, natsbus.ConsumerConfig{Name: "dedupe", Subjects: []string{"photofeed.events.Test"}},
		func(_ context.Context, d natsbus.Delivery) error {
			mu.Lock()
			got = append(got, d.OutboxSeq)
			mu.Unlock()
			return nil
		})
	m := outbox.Message{Seq: 7, ID: "event-7", Subject: "photofeed.events.Test", Body: []byte(`{}`)}
	for range 3 {
		if err := b.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	b.Publish(ctx, outbox.Message{Seq: 8, ID: "event-8", Subject: "photofeed.events.Test", Body: []byte(`{}`)})
	testenv.Eventually(t, "event 8", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 && got[len(got)-1] == 8 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != 7 {
		t.Fatalf("deliveries %v, want [7 8]", got)
	}
}

// An event that keeps failing is parked after MaxDeliver tries, and the
// events behind it are handled.
func TestPoisonEventIsParked(t *testing.T) {
	b := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	tries := map[int64]int{}
	handled := map[int64]bool{}
	go b.Consume(ctx, natsbus.ConsumerConfig{Name: "fussy", Subjects: []string{"photofeed.events.Test"}, MaxDeliver: 3,
		Backoff: resilience.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond}},
		func(_ context.Context, d natsbus.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			tries[d.OutboxSeq]++
			if d.OutboxSeq == 1 {
				return errors.New("cannot handle this one")
			}
			handled[d.OutboxSeq] = true
			return nil
		})
	for seq := int64(1); seq <= 3; seq++ {
		b.Publish(ctx, outbox.Message{Seq: seq, ID: "e" + string(rune('0'+seq)), Subject: "photofeed.events.Test", Body: []byte(`{}`)})
	}
	testenv.Eventually(t, "events behind the poison one", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return handled[2] && handled[3] })
	testenv.Eventually(t, "the poison event parked", 10*time.Second, func() bool { n, _ := b.DeadLetters(ctx, "fussy"); return n == 1 })
	mu.Lock()
	defer mu.Unlock()
	if tries[1] != 3 {
		t.Fatalf("poison event tried %d times, want 3", tries[1])
	}
}

// A consumer that cannot be made makes the bus not ready, naming it,
// until it stops on purpose.
func TestReadyNamesAFailingConsumer(t *testing.T) {
	b := open(t)
	if err := b.Ready(); err != nil {
		t.Fatalf("a bus without consumers: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Consume(ctx, natsbus.ConsumerConfig{Name: "not.a.name", Subjects: []string{"photofeed.events.Test"}},
			func(context.Context, natsbus.Delivery) error { return nil })
	}()
	testenv.Eventually(t, "the failing consumer reported", 10*time.Second, func() bool {
		err := b.Ready()
		return err != nil && strings.Contains(err.Error(), "not.a.name")
	})
	cancel()
	<-done
	if err := b.Ready(); err != nil {
		t.Fatalf("after the consumer stopped on purpose: %v", err)
	}
}
