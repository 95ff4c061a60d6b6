package topology_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
	"github.com/photofeed/photofeed/internal/topology"
)

// clock is a fake clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func states(r *topology.Registry) map[string]string {
	out := map[string]string{}
	for _, n := range r.Nodes() {
		out[n.Node] = n.State
	}
	return out
}

func TestRegistryLostAfterMissedBeats(t *testing.T) {
	c := &clock{now: time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)}
	r := topology.NewRegistry(topology.RegistryConfig{Missed: 3, Now: c.Now})
	beat := func(id string) { r.Put(topology.Beat{Node: id, Roles: []string{"api"}, Interval: 1}) }
	beat("a")
	beat("b")
	steps := []struct {
		what  string
		wait  time.Duration
		beats []string
		want  map[string]string
	}{
		{"both beat", 0, nil, map[string]string{"a": topology.Up, "b": topology.Up}},
		// b keeps beating every second, a stops.
		{"a missed one beat", time.Second, []string{"b"}, map[string]string{"a": topology.Up, "b": topology.Up}},
		{"a missed two", time.Second, []string{"b"}, map[string]string{"a": topology.Up, "b": topology.Up}},
		{"a at the bound", time.Second, []string{"b"}, map[string]string{"a": topology.Up, "b": topology.Up}},
		{"a past the bound", 100 * time.Millisecond, []string{"b"}, map[string]string{"a": topology.Lost, "b": topology.Up}},
		{"a comes back", time.Second, []string{"a", "b"}, map[string]string{"a": topology.Up, "b": topology.Up}},
	}
	for _, st := range steps {
		c.Add(st.wait)
		for _, id := range st.beats {
			beat(id)
		}
		got := states(r)
		for id, want := range st.want {
			if got[id] != want {
				t.Errorf("%s: node %s is %q, want %q", st.what, id, got[id], want)
			}
		}
	}
}

func TestRegistryIntervalFromTheBeat(t *testing.T) {
	c := &clock{now: time.Unix(0, 0)}
	r := topology.NewRegistry(topology.RegistryConfig{Now: c.Now})
	// A node beating every 5 s is not lost after 4 s of silence, though
	// the registry's default interval is 1 s.
	r.Put(topology.Beat{Node: "slow", Interval: 5})
	c.Add(4 * time.Second)
	if got := states(r)["slow"]; got != topology.Up {
		t.Fatalf("slow beater after 4 s: %q, want up", got)
	}
	c.Add(12 * time.Second)
	if got := states(r)["slow"]; got != topology.Lost {
		t.Fatalf("slow beater after 16 s: %q, want lost", got)
	}
}

func TestRegistryLeftAndForgotten(t *testing.T) {
	c := &clock{now: time.Unix(0, 0)}
	r := topology.NewRegistry(topology.RegistryConfig{Forget: time.Minute, Now: c.Now})
	r.Put(topology.Beat{Node: "a", Leaving: true})
	if got := states(r)["a"]; got != topology.Left {
		t.Fatalf("after its leaving beat: %q, want left", got)
	}
	c.Add(2 * time.Minute)
	if n := len(r.Nodes()); n != 0 {
		t.Fatalf("%d nodes a while after they left, want them forgotten", n)
	}
}

// Made-up node ids on the bus cannot grow the registry past MaxNodes;
// once the oldest are forgotten there is room again.
func TestRegistryIsBounded(t *testing.T) {
	c := &clock{now: time.Unix(0, 0)}
	r := topology.NewRegistry(topology.RegistryConfig{Forget: time.Minute, Now: c.Now})
	for i := range topology.MaxNodes + 50 {
		r.Put(topology.Beat{Node: fmt.Sprint("flood-", i)})
	}
	if n := len(r.Nodes()); n != topology.MaxNodes {
		t.Fatalf("%d nodes kept, want %d", n, topology.MaxNodes)
	}
	c.Add(2 * time.Minute)
	r.Put(topology.Beat{Node: "real"})
	if n := r.Nodes(); len(n) != 1 || n[0].Node != "real" {
		t.Fatalf("after the flood was forgotten: %d nodes", len(n))
	}
}

func TestRegistryDropsUnreadableBeats(t *testing.T) {
	r := topology.NewRegistry(topology.RegistryConfig{})
	for _, data := range []string{"", "{", `{"roles":["api"]}`, `{"node":1}`} {
		r.Receive([]byte(data))
	}
	if n := len(r.Nodes()); n != 0 {
		t.Fatalf("%d nodes from unreadable beats", n)
	}
	r.Receive([]byte(`{"node":"x","roles":["worker"],"addr":"127.0.0.1:1"}`))
	if n := r.Nodes(); len(n) != 1 || n[0].Addr != "127.0.0.1:1" || n[0].State != topology.Up {
		t.Fatalf("nodes %+v", n)
	}
}

// TestPublisherBeatsAndLeaves runs a publisher into a registry, as the
// bus would carry it: beats arrive while it runs, its last one says it
// leaves, and a send that fails does not stop it.
func TestPublisherBeatsAndLeaves(t *testing.T) {
	// Beats 5 ms apart on the real clock: a busy machine may pause the
	// test longer than a few of them, which is not what this test is
	// about (TestRegistryLostAfterMissedBeats is, on a fake clock).
	r := topology.NewRegistry(topology.RegistryConfig{Missed: 1000})
	var mu sync.Mutex
	sent, failures := 0, 0
	p := topology.NewPublisher(topology.PublisherConfig{
		Self:     topology.Beat{Node: "n1", Roles: []string{"api"}, Addr: "127.0.0.1:8080"},
		Interval: 5 * time.Millisecond,
		Figures:  func() topology.Figures { return topology.Figures{RequestsPerS: 12} },
		Send: func(subject string, data []byte) error {
			mu.Lock()
			defer mu.Unlock()
			if subject != topology.Subject {
				t.Errorf("sent on %q", subject)
			}
			if sent++; sent == 2 {
				failures++
				return context.DeadlineExceeded // the bus down for a beat
			}
			r.Receive(data)
			return nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	testenv.Eventually(t, "four beats", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return sent >= 4
	})
	nodes := r.Nodes()
	if len(nodes) != 1 || nodes[0].State != topology.Up || nodes[0].Figures.RequestsPerS != 12 || nodes[0].Interval != 0.005 {
		t.Fatalf("while running: %+v", nodes)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := states(r)["n1"]; got != topology.Left {
		t.Fatalf("after Run returned: %q, want left", got)
	}
}
