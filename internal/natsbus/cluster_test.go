package natsbus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/outbox"
	"github.com/photofeed/photofeed/internal/testenv"
)

// On a three-node cluster the stream keeps three copies; with the
// stream's leader stopped in the middle of a publish loop, every acknowledged event is
// delivered and the consumer carries on.
func TestClusterSurvivesANode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node JetStream cluster")
	}
	cluster := testenv.StartNATS(t, 3)
	ctx := t.Context()
	b, err := natsbus.Open(ctx, natsbus.Config{URL: cluster.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if r, err := b.StreamReplicas(ctx); err != nil || r != 3 {
		t.Fatalf("stream replicas %d (%v), want 3 on a three-node cluster", r, err)
	}

	var mu sync.Mutex
	seen := map[string]bool{}
	consumeCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(consumeCtx, natsbus.ConsumerConfig{Name: "cluster-test", Subjects: []string{"photofeed.events.>"}},
			func(ctx context.Context, d natsbus.Delivery) error {
				mu.Lock()
				seen[string(d.Data)] = true
				mu.Unlock()
				return nil
			})
	}()

	var acked []string
	failed := 0
	for i := range 300 {
		if i == 100 {
			if cluster.StopStreamLeader(natsbus.EventsStream) < 0 {
				t.Fatal("no node leads the events stream")
			}
		}
		id := fmt.Sprintf("event-%03d", i)
		err := b.Publish(ctx, outbox.Message{ID: id, Subject: "photofeed.events.Test", Body: []byte(id), Seq: int64(i + 1)})
		if err != nil {
			failed++ // not acknowledged: the relay would publish it again
			continue
		}
		acked = append(acked, id)
	}
	t.Logf("%d acknowledged, %d failed while a node stopped", len(acked), failed)
	if len(acked) < 200 {
		t.Fatalf("only %d of 300 publishes acknowledged with two of three nodes up", len(acked))
	}
	// A failover can take a JetStream API timeout (5 s) or two.
	testenv.Eventually(t, "every acknowledged event delivered", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		for _, id := range acked {
			if !seen[id] {
				missing++
			}
		}
		return missing == 0
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A bus started beside a cluster that cannot place three copies yet (a
// node still starting) waits for it instead of failing its start.
func TestOpenWaitsForAFormingCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node JetStream cluster")
	}
	cluster := testenv.StartNATS(t, 3)
	cluster.Stop(2)
	back := time.AfterFunc(time.Second, func() { cluster.Restart(2) })
	defer back.Stop()
	started := time.Now()
	b, err := natsbus.Open(t.Context(), natsbus.Config{URL: cluster.URL(), Replicas: 3})
	if err != nil {
		t.Fatalf("open while a node is down: %v", err)
	}
	defer b.Close()
	t.Logf("streams made %s after the start, the third node back after 1s", time.Since(started).Round(time.Millisecond))
	if r, err := b.StreamReplicas(t.Context()); err != nil || r != 3 {
		t.Fatalf("stream replicas %d (%v), want 3", r, err)
	}
}
