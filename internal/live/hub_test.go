package live

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// memBus is the plain subjects in memory: Broadcast calls the listeners
// at once, on the caller's goroutine.
type memBus struct {
	mu     sync.Mutex
	subs   map[string]map[int]func([]byte)
	next   int
	listen []string // every Listen, in order
}

func newMemBus() *memBus { return &memBus{subs: map[string]map[int]func([]byte){}} }

func (b *memBus) Listen(subject string, fn func([]byte)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[subject] == nil {
		b.subs[subject] = map[int]func([]byte){}
	}
	id := b.next
	b.next++
	b.subs[subject][id] = fn
	b.listen = append(b.listen, subject)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs[subject], id)
	}, nil
}

func (b *memBus) Broadcast(subject string, data []byte) error {
	b.mu.Lock()
	var fns []func([]byte)
	for _, fn := range b.subs[subject] {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, fn := range fns {
		fn(data)
	}
	return nil
}

// subscribed lists the subjects with a listener.
func (b *memBus) subscribed() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for s, fns := range b.subs {
		if len(fns) > 0 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func newTestHub(t *testing.T, bus *memBus, cfg HubConfig) *Hub {
	t.Helper()
	h, err := NewHub(bus, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func open(t *testing.T, h *Hub, reader int64) *Stream {
	t.Helper()
	s, err := h.Open(reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func received(s *Stream) []int64 {
	var out []int64
	for {
		select {
		case p := <-s.Posts():
			out = append(out, p.ID)
		default:
			return out
		}
	}
}

// readersInOtherGroups returns n readers whose groups differ from each
// other's and from avoid's.
func readersInOtherGroups(n int, avoid ...int64) []int64 {
	used := map[int]bool{}
	for _, a := range avoid {
		used[Group(a)] = true
	}
	var out []int64
	for id := int64(1); len(out) < n; id++ {
		if !used[Group(id)] {
			used[Group(id)] = true
			out = append(out, id)
		}
	}
	return out
}

func TestGroupSpreadsIds(t *testing.T) {
	var counts [Groups]int
	// Time-sortable ids: consecutive, as one node's generator makes them.
	const n = Groups * 1000
	for id := int64(1 << 40); id < 1<<40+n; id++ {
		counts[Group(id)]++
	}
	for g, c := range counts {
		if c < 800 || c > 1200 {
			t.Fatalf("group %d has %d of %d ids, want about %d", g, c, n, n/Groups)
		}
	}
}

func TestPostsReachTheirReadersOnly(t *testing.T) {
	bus := newMemBus()
	h := newTestHub(t, bus, HubConfig{})
	rs := readersInOtherGroups(2)
	alice, bob := rs[0], rs[1]
	a1, a2, b := open(t, h, alice), open(t, h, alice), open(t, h, bob)
	if err := Publish(bus, Post{ID: 10, Author: 99}, []int64{alice, 12345}); err != nil {
		t.Fatal(err)
	}
	if err := Publish(bus, Post{ID: 11, Author: 99}, []int64{bob}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    *Stream
		want []int64
	}{{"alice's first stream", a1, []int64{10}}, {"alice's second stream", a2, []int64{10}}, {"bob's", b, []int64{11}}} {
		if got := received(c.s); !slices.Equal(got, c.want) {
			t.Errorf("%s got %v, want %v", c.name, got, c.want)
		}
	}
}

// A node listens to the groups of the streams it holds, and to no other.
func TestSubscribesToTheGroupsOfItsStreams(t *testing.T) {
	bus := newMemBus()
	h := newTestHub(t, bus, HubConfig{})
	rs := readersInOtherGroups(2)
	if got := bus.subscribed(); !slices.Equal(got, []string{CelebritySubject}) {
		t.Fatalf("with no streams: %v", got)
	}
	s1, s2 := open(t, h, rs[0]), open(t, h, rs[0])
	s3 := open(t, h, rs[1])
	want := []string{CelebritySubject, GroupSubject(Group(rs[0])), GroupSubject(Group(rs[1]))}
	slices.Sort(want)
	if got := bus.subscribed(); !slices.Equal(got, want) {
		t.Fatalf("subscribed %v, want %v", got, want)
	}
	s1.Close()
	s1.Close() // twice is once
	if got := bus.subscribed(); !slices.Equal(got, want) {
		t.Fatalf("after one of two streams closed: %v, want %v", got, want)
	}
	s2.Close()
	s3.Close()
	if got := bus.subscribed(); !slices.Equal(got, []string{CelebritySubject}) {
		t.Fatalf("after every stream closed: %v", got)
	}
	if n := h.Streams(); n != 0 {
		t.Fatalf("%d streams left", n)
	}
}

func TestCelebrityPostReachesFollowersHere(t *testing.T) {
	bus := newMemBus()
	const celeb = 7
	rs := readersInOtherGroups(3, celeb)
	fan, other := rs[0], rs[1]
	h := newTestHub(t, bus, HubConfig{Follows: func(_ context.Context, reader, author int64) (bool, error) {
		return reader == fan && author == celeb, nil
	}})
	f, o, self := open(t, h, fan), open(t, h, other), open(t, h, celeb)
	if err := PublishCelebrity(bus, Post{ID: 20, Author: celeb}); err != nil {
		t.Fatal(err)
	}
	if got := received(f); !slices.Equal(got, []int64{20}) {
		t.Errorf("follower got %v", got)
	}
	if got := received(o); len(got) != 0 {
		t.Errorf("non-follower got %v", got)
	}
	if got := received(self); len(got) != 0 {
		t.Errorf("the author's own stream got %v from the celebrity subject (their own timeline's group tells them)", got)
	}
}

// The follow checks of one celebrity post overlap: readers whose checks
// each wait on the others (as cache misses queue on a database) all get
// the post, where checks made one after another would run out of time.
func TestCelebrityFollowChecksOverlap(t *testing.T) {
	bus := newMemBus()
	const celeb = 7
	rs := readersInOtherGroups(4, celeb)
	var arrived sync.WaitGroup
	arrived.Add(len(rs))
	h := newTestHub(t, bus, HubConfig{Follows: func(ctx context.Context, reader, author int64) (bool, error) {
		arrived.Done()
		all := make(chan struct{})
		go func() { arrived.Wait(); close(all) }()
		select {
		case <-all:
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}})
	var streams []*Stream
	for _, r := range rs {
		streams = append(streams, open(t, h, r))
	}
	if err := PublishCelebrity(bus, Post{ID: 30, Author: celeb}); err != nil {
		t.Fatal(err)
	}
	for i, s := range streams {
		if got := received(s); !slices.Equal(got, []int64{30}) {
			t.Errorf("follower %d got %v", i, got)
		}
	}
}

// A stream whose reader does not keep up is dropped as slow, and the
// others, the publisher included, carry on without waiting for it.
func TestSlowStreamIsDroppedWithoutBlocking(t *testing.T) {
	bus := newMemBus()
	h := newTestHub(t, bus, HubConfig{Buffer: 4})
	rs := readersInOtherGroups(1)
	slow, fast := open(t, h, rs[0]), open(t, h, rs[0])
	var got []int64
	for i := range int64(100) {
		Publish(bus, Post{ID: i + 1}, []int64{rs[0]}) // returns at once: nothing waits for slow
		if i == 50 {
			select {
			case <-slow.Done():
			default:
				t.Fatal("the slow stream was not dropped after its buffer filled")
			}
		}
		got = append(got, (<-fast.Posts()).ID) // the fast one keeps up
	}
	if !errors.Is(slow.Err(), ErrSlow) {
		t.Fatalf("slow stream's Err = %v, want ErrSlow", slow.Err())
	}
	if n := len(received(slow)); n != 4 {
		t.Fatalf("slow stream holds %d posts, want its buffer's 4", n)
	}
	if len(got) != 100 {
		t.Fatalf("fast stream got %d posts, want 100", len(got))
	}
	if n := h.Streams(); n != 1 {
		t.Fatalf("%d streams registered, want the fast one", n)
	}
}

func TestCloseEndsStreamsAndRefusesNew(t *testing.T) {
	bus := newMemBus()
	h := newTestHub(t, bus, HubConfig{})
	s := open(t, h, 1)
	if s.Err() != nil {
		t.Fatalf("Err before the end: %v", s.Err())
	}
	h.Close()
	select {
	case <-s.Done():
	default:
		t.Fatal("open stream not ended by Close")
	}
	if !errors.Is(s.Err(), ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", s.Err())
	}
	if _, err := h.Open(2); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close: %v, want ErrClosed", err)
	}
	s.Close()
	if got := bus.subscribed(); len(got) != 0 {
		t.Fatalf("still subscribed to %v", got)
	}
}

// Opening and closing streams while posts are delivered: for -race.
func TestConcurrentStreamsAndDeliveries(t *testing.T) {
	bus := newMemBus()
	h := newTestHub(t, bus, HubConfig{Buffer: 2, Follows: func(context.Context, int64, int64) (bool, error) { return true, nil }})
	var wg sync.WaitGroup
	for r := range int64(8) {
		wg.Go(func() {
			for range 50 {
				s, err := h.Open(r)
				if err != nil {
					t.Error(err)
					return
				}
				received(s)
				s.Close()
			}
		})
	}
	wg.Go(func() {
		for i := range int64(200) {
			Publish(bus, Post{ID: i}, []int64{0, 1, 2, 3, 4, 5, 6, 7})
			PublishCelebrity(bus, Post{ID: i, Author: 100})
		}
	})
	wg.Wait()
	if n := h.Streams(); n != 0 {
		t.Fatalf("%d streams left", n)
	}
}
