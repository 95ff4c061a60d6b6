package natsbus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/testenv"
)

// Against the nats-server a distribution packages (Debian 12: 2.9.10,
// which filters a consumer by one subject only), a consumer of several
// subjects and one of a single subject each get their events, in stream
// order, and nothing else; and the bus says it is ready.
func TestConsumeOnPackagedServer(t *testing.T) {
	srv := testenv.StartNATSBinary(t)
	t.Logf("nats-server %s at %s", srv.Version, srv.URL)
	b, err := natsbus.Open(t.Context(), natsbus.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var mu sync.Mutex
	got := map[string][]string{}
	consume := func(name string, subjects ...string) {
		go b.Consume(ctx, natsbus.ConsumerConfig{Name: name, Subjects: subjects}, func(_ context.Context, d natsbus.Delivery) error {
			mu.Lock()
			got[name] = append(got[name], fmt.Sprintf("%d %s", d.OutboxSeq, d.Subject))
			mu.Unlock()
			return nil
		})
	}
	consume("several", "photofeed.events.A", "photofeed.events.B")
	consume("one", "photofeed.events.B")
	consume("all", "photofeed.events.>")

	subjects := []string{"A", "C", "B", "A", "C", "B", "A"}
	for i, s := range subjects {
		m := outbox.Message{Seq: int64(i + 1), ID: fmt.Sprint("event-", i+1), Subject: "photofeed.events." + s, Body: []byte(`{}`)}
		if err := b.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{}
	for i, s := range subjects {
		d := fmt.Sprintf("%d photofeed.events.%s", i+1, s)
		want["all"] = append(want["all"], d)
		if s != "C" {
			want["several"] = append(want["several"], d)
		}
		if s == "B" {
			want["one"] = append(want["one"], d)
		}
	}
	testenv.Eventually(t, "every consumer's events", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["several"]) >= len(want["several"]) && len(got["one"]) >= len(want["one"]) && len(got["all"]) >= len(want["all"])
	})
	mu.Lock()
	defer mu.Unlock()
	for name, w := range want {
		if !slices.Equal(got[name], w) {
			t.Errorf("consumer %s got %q, want %q", name, got[name], w)
		}
	}
}
