package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/live"
	"github.com/photofeed/photofeed/internal/problem"
)

// LiveFeed opens streams of readers' feeds (internal/live's Hub).
type LiveFeed interface {
	Open(reader int64) (*live.Stream, error)
}

// streamWriteBound is how long one write to a stream may take: a reader
// that takes no bytes for this long is gone. Each write sets its own
// deadline, so the server's WriteTimeout does not end a stream that is
// merely long.
const streamWriteBound = 30 * time.Second

// recentSent is how many post ids a stream remembers having sent, to send
// none twice when the replay and the live posts overlap or a post is
// announced again (a redelivered fan-out).
const recentSent = 1024

// feedStream is GET /v2/feed/stream: Server-Sent Events, one "post" event
// per post that lands in the reader's feed. A reconnecting client sends
// Last-Event-ID and first gets what it missed, read from the timeline.
func (a *API) feedStream(w http.ResponseWriter, r *http.Request, uid int64) error {
	if a.deps.Live == nil {
		return errkind.New(errkind.Unavailable, "live feed unavailable on this node")
	}
	var last int64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return problem.BadRequest("bad Last-Event-ID", map[string]string{"Last-Event-ID": "must be the id of an event this stream sent"})
		}
		last = n
	}
	// Open before reading the timeline: a post written after the read is
	// then announced to the stream, one written before is in the read.
	stream, err := a.deps.Live.Open(uid)
	if errors.Is(err, live.ErrClosed) {
		return errkind.New(errkind.Unavailable, "node shutting down; reconnect")
	}
	if err != nil {
		return fmt.Errorf("open live feed: %w", err)
	}
	defer stream.Close()
	var missed []int64
	if last > 0 {
		if missed, err = a.deps.Feed.Since(r.Context(), uid, last); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // the request is read; an expiring read deadline would cancel its context
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies that buffer by default (nginx) pass it through as it comes
	w.WriteHeader(http.StatusOK)
	sse := &sseWriter{w: w, rc: rc, high: last, sent: map[int64]bool{}}
	sse.comment("stream open") // headers reach the client now, not with the first post
	for _, id := range missed {
		sse.post(id)
	}
	if sse.err != nil {
		return nil
	}
	a.streamLive(r.Context(), sse, stream)
	return nil
}

// streamLive writes the stream's posts and heartbeats until the client
// goes, a write fails, or the hub ends the stream (slow reader, shutdown).
func (a *API) streamLive(ctx context.Context, sse *sseWriter, stream *live.Stream) {
	every := a.deps.StreamHeartbeat
	if every <= 0 {
		every = 15 * time.Second
	}
	beat := time.NewTicker(every)
	defer beat.Stop()
	flowing := true // what the client was last told: new posts reach it as they land
	for sse.err == nil {
		select {
		case <-ctx.Done():
			return
		case p := <-stream.Posts():
			sse.post(p.ID)
		case <-beat.C:
			// Posts reach the stream over the event bus: while this node
			// is cut off from it, the stream says it is behind (the posts
			// landed meanwhile come once the bus is back), and says so
			// again when they flow. Checked on each heartbeat.
			if up := a.deps.Bus == nil || a.deps.Bus() == nil; up != flowing {
				flowing = up
				sse.event("status", "", `{"live":`+strconv.FormatBool(up)+`}`)
			} else {
				sse.comment("heartbeat")
			}
		case <-stream.Done():
			// What was queued first, then the reason: the client
			// reconnects with the last id and loses nothing.
			for len(stream.Posts()) > 0 {
				sse.post((<-stream.Posts()).ID)
			}
			reason := "shutdown"
			if errors.Is(stream.Err(), live.ErrSlow) {
				reason = "slow"
			}
			sse.event("reconnect", "", `{"reason":"`+reason+`"}`)
			return
		}
	}
}

// sseWriter writes Server-Sent Events, flushing each. Event ids only grow
// (the highest post id sent): a post announced out of id order must not
// move a reconnecting client's Last-Event-ID back and have it sent again.
type sseWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	high int64
	sent map[int64]bool
	ring [recentSent]int64
	next int
	err  error
}

func (s *sseWriter) post(id int64) {
	if id <= 0 || s.sent[id] {
		return
	}
	if old := s.ring[s.next]; old != 0 {
		delete(s.sent, old)
	}
	s.ring[s.next], s.next = id, (s.next+1)%recentSent
	s.sent[id] = true
	s.high = max(s.high, id)
	ids := strconv.FormatInt(id, 10)
	s.event("post", strconv.FormatInt(s.high, 10), `{"post_id":"`+ids+`"}`)
}

func (s *sseWriter) comment(text string) { s.write(": " + text + "\n\n") }

func (s *sseWriter) event(name, id, data string) {
	s.write(sseEvent(name, id, data))
}

func sseEvent(name, id, data string) string {
	msg := "event: " + name + "\n"
	if id != "" {
		msg += "id: " + id + "\n"
	}
	return msg + "data: " + data + "\n\n"
}

// ShutdownEvent is the last event of a live stream whose server shuts
// down; a gateway that shuts down ends the streams it passes on with it
// too, so the client hears the same whichever of the two went.
func ShutdownEvent() []byte { return []byte(sseEvent("reconnect", "", `{"reason":"shutdown"}`)) }

func (s *sseWriter) write(msg string) {
	if s.err != nil {
		return
	}
	s.rc.SetWriteDeadline(time.Now().Add(streamWriteBound))
	if _, s.err = s.w.Write([]byte(msg)); s.err == nil {
		s.err = s.rc.Flush()
	}
}

// streamOperation documents GET /v2/feed/stream (v2 only: it is new).
func streamOperation() m {
	return m{"get": m{
		"summary":     "Live feed: Server-Sent Events as posts land in your home feed",
		"operationId": "get_v2_feed_stream",
		"description": "A text/event-stream of `post` events, one per post that lands in the reader's home feed " +
			"(fanned out, or by a followed author merged at read time); the data is {\"post_id\": \"…\"} and the client " +
			"fetches the feed page. Event ids only grow; reconnecting with Last-Event-ID first replays what was missed, " +
			"read from the timeline. Comment lines every ~15 s keep idle proxies from closing it. A `reconnect` event " +
			"({\"reason\": \"slow\" or \"shutdown\"}) ends it: reconnect with the last id.",
		"security": []m{{"bearer": []string{}}, {"cookie": []string{}}},
		"parameters": []m{{"name": "Last-Event-ID", "in": "header", "schema": m{"type": "string", "pattern": "^[0-9]+$"},
			"description": "the id of the last event received; what came after it is replayed first"}},
		"responses": m{
			"200": m{"description": "OK", "content": m{"text/event-stream": m{"schema": str()}}},
			"400": problemRef(400), "401": problemRef(401), "429": problemRef(429), "default": problemRef(0),
		},
	}}
}
