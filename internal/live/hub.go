package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Why a stream ended, other than its own Close.
var (
	// ErrSlow: its reader did not keep up and its buffer filled. It is
	// dropped rather than let it hold up anyone else; it reconnects and
	// reads what it missed from the timeline.
	ErrSlow = errors.New("live: stream dropped: the reader is not keeping up")
	// ErrClosed: the node is shutting down; the reader reconnects to
	// another node.
	ErrClosed = errors.New("live: node shutting down")
)

// Listener subscribes to plain subjects; the subscription is live when
// Listen returns.
type Listener interface {
	Listen(subject string, fn func(data []byte)) (stop func(), err error)
}

// Follows reports whether reader follows author.
type Follows func(ctx context.Context, reader, author int64) (bool, error)

// HubConfig configures NewHub; zero values take the defaults.
type HubConfig struct {
	// Buffer is how many posts a stream may have waiting to be written
	// before it is dropped as slow; default 64.
	Buffer int
	// Follows decides who among this node's readers gets a celebrity's
	// post; nil: nobody does.
	Follows Follows
	Logger  *slog.Logger
}

// Hub holds this node's open streams by reader, subscribes to the groups
// of those readers (and to the celebrity subject), and hands each landed
// post to its readers' streams. It never waits for a stream: a full one
// is dropped.
type Hub struct {
	bus    Listener
	cfg    HubConfig
	groups [Groups]group

	mu      sync.RWMutex
	readers map[int64]map[*Stream]struct{}
	closed  bool
	stopCel func()
}

// group is one group subject's subscription, held while any of its
// readers has a stream here.
type group struct {
	mu      sync.Mutex
	streams int
	stop    func()
}

// NewHub subscribes to the celebrity subject and holds streams until Close.
func NewHub(bus Listener, cfg HubConfig) (*Hub, error) {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Hub{bus: bus, cfg: cfg, readers: map[int64]map[*Stream]struct{}{}}
	stop, err := bus.Listen(CelebritySubject, h.celebrity)
	if err != nil {
		return nil, err
	}
	h.stopCel = stop
	return h, nil
}

// Stream is one open stream of a reader's feed.
type Stream struct {
	Reader int64
	hub    *Hub
	posts  chan Post
	done   chan struct{}
	err    error // why done closed; set before it closes
	end    sync.Once
	closed sync.Once
}

// Posts delivers the posts that land in the reader's feed.
func (s *Stream) Posts() <-chan Post { return s.posts }

// Done is closed when the hub ends the stream; Err then says why.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is ErrSlow or ErrClosed once Done is closed, nil before.
func (s *Stream) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Open starts a stream of reader's feed. Once it returns, every post
// published for reader reaches the stream (or ends it as slow): a post
// written to the timeline before then is for the caller to read from the
// timeline.
func (h *Hub) Open(reader int64) (*Stream, error) {
	s := &Stream{Reader: reader, hub: h, posts: make(chan Post, h.cfg.Buffer), done: make(chan struct{})}
	// Registered before the subscription: a message arriving as it starts
	// then finds the stream.
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if h.readers[reader] == nil {
		h.readers[reader] = map[*Stream]struct{}{}
	}
	h.readers[reader][s] = struct{}{}
	h.mu.Unlock()
	if err := h.join(Group(reader)); err != nil {
		h.remove(s)
		return nil, err
	}
	return s, nil
}

// Close ends the stream and lets go of its group's subscription if it was
// the group's last. Safe to call more than once.
func (s *Stream) Close() {
	s.closed.Do(func() {
		s.hub.remove(s)
		s.hub.leave(Group(s.Reader))
	})
}

func (h *Hub) join(g int) error {
	gr := &h.groups[g]
	gr.mu.Lock()
	defer gr.mu.Unlock()
	if gr.streams == 0 {
		stop, err := h.bus.Listen(GroupSubject(g), h.landed)
		if err != nil {
			return err
		}
		gr.stop = stop
	}
	gr.streams++
	return nil
}

func (h *Hub) leave(g int) {
	gr := &h.groups[g]
	gr.mu.Lock()
	defer gr.mu.Unlock()
	if gr.streams--; gr.streams == 0 {
		gr.stop()
		gr.stop = nil
	}
}

func (h *Hub) remove(s *Stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.readers[s.Reader]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.readers, s.Reader)
		}
	}
}

// end signals the stream's handler to finish, for err; it stops receiving.
func (h *Hub) end(s *Stream, err error) {
	s.end.Do(func() {
		s.err = err
		close(s.done)
	})
	h.remove(s)
}

// landed handles a group message.
func (h *Hub) landed(data []byte) {
	var m landed
	if err := json.Unmarshal(data, &m); err != nil {
		h.cfg.Logger.Warn("malformed live message", "err", err)
		return
	}
	h.deliver(m.Post, m.Readers)
}

// celebrity handles a celebrity's post: the readers here who follow the
// author get it (the author's own timeline is in a group message). The
// check is per reader (a cached list of the authors they follow that are
// merged at read time), outside the hub's lock, followsInParallel at a
// time: one after the other, the cache misses of thousands of readers
// would add up past the one-second delivery goal. A reader whose check
// fails sees the post on their next read.
func (h *Hub) celebrity(data []byte) {
	var p Post
	if err := json.Unmarshal(data, &p); err != nil {
		h.cfg.Logger.Warn("malformed live message", "err", err)
		return
	}
	if h.cfg.Follows == nil {
		return
	}
	h.mu.RLock()
	readers := make([]int64, 0, len(h.readers))
	for r := range h.readers {
		readers = append(readers, r)
	}
	h.mu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	follows := make([]bool, len(readers))
	var g errgroup.Group
	g.SetLimit(followsInParallel)
	for i, r := range readers {
		g.Go(func() error {
			ok, err := h.cfg.Follows(ctx, r, p.Author)
			follows[i] = ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		h.cfg.Logger.Warn("live: who follows a celebrity; some readers see the post on their next read", "author", p.Author, "err", err)
	}
	var to []int64
	for i, r := range readers {
		if follows[i] {
			to = append(to, r)
		}
	}
	h.deliver(p, to)
}

// followsInParallel bounds the follow checks of one celebrity post: enough
// to overlap cache and database round trips, few enough to leave the
// database's pool to the requests.
const followsInParallel = 16

// deliver offers p to every stream of readers, dropping the full ones.
func (h *Hub) deliver(p Post, readers []int64) {
	var slow []*Stream
	h.mu.RLock()
	for _, r := range readers {
		for s := range h.readers[r] {
			select {
			case s.posts <- p:
			default:
				slow = append(slow, s)
			}
		}
	}
	h.mu.RUnlock()
	for _, s := range slow {
		h.end(s, ErrSlow)
	}
}

// Streams is how many streams are open here.
func (h *Hub) Streams() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, set := range h.readers {
		n += len(set)
	}
	return n
}

// Close ends every stream with ErrClosed and refuses new ones: the node
// is shutting down, and http.Server.Shutdown does not end streaming
// responses itself. Safe to call more than once.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	var all []*Stream
	for _, set := range h.readers {
		for s := range set {
			all = append(all, s)
		}
	}
	h.mu.Unlock()
	for _, s := range all {
		h.end(s, ErrClosed)
	}
	h.stopCel()
	return nil
}
