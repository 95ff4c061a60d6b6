package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseEvent is one Server-Sent Event, or a comment line (Comment set).
type sseEvent struct {
	Name, ID, Data, Comment string
}

// liveStream is an open GET /v2/feed/stream: its events arrive on Events,
// which is closed when the stream ends.
type liveStream struct {
	t      *testing.T
	resp   *http.Response
	Events chan sseEvent
	cancel context.CancelFunc
}

// stream opens the client's live feed, sending lastID as Last-Event-ID
// unless it is "".
func (c *client) stream(lastID string) *liveStream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/v2/feed/stream", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		c.t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		c.t.Fatalf("open stream: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &liveStream{t: c.t, resp: resp, Events: make(chan sseEvent, 1000), cancel: cancel}
	go s.read()
	c.t.Cleanup(s.close)
	return s
}

func (s *liveStream) read() {
	defer close(s.Events)
	sc := bufio.NewScanner(s.resp.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				s.Events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			ev.Comment = strings.TrimSpace(line[1:])
		default:
			field, value, _ := strings.Cut(line, ": ")
			switch field {
			case "event":
				ev.Name = value
			case "id":
				ev.ID = value
			case "data":
				ev.Data = value
			}
		}
	}
}

func (s *liveStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next event that is not a comment, failing the test if
// none comes within timeout or the stream ends.
func (s *liveStream) next(timeout time.Duration) sseEvent {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-s.Events:
			if !ok {
				s.t.Fatal("stream ended while waiting for an event")
			}
			if ev.Comment == "" {
				return ev
			}
		case <-deadline:
			s.t.Fatalf("no event within %s", timeout)
		}
	}
}

// postID is the post a "post" event announces.
func (s *liveStream) postID(ev sseEvent) string {
	s.t.Helper()
	var d struct {
		PostID string `json:"post_id"`
	}
	if ev.Name != "post" || json.Unmarshal([]byte(ev.Data), &d) != nil || d.PostID == "" {
		s.t.Fatalf("not a post event: %+v", ev)
	}
	return d.PostID
}

// follow makes c follow username.
func (c *client) follow(username string) {
	c.t.Helper()
	if r := c.do("PUT", "/v2/me/following/"+username, nil); r.StatusCode != 204 {
		c.t.Fatalf("follow %s: %d %s", username, r.StatusCode, r.Body)
	}
}

// A followed author's post reaches the reader's stream, whether it is
// fanned out into the reader's timeline or, above the fan-out threshold,
// merged at read time.
func TestLiveFeedAnnouncesFollowedAuthorsPosts(t *testing.T) {
	for _, c := range []struct {
		name      string
		threshold string
	}{{"fanned out", "1000"}, {"merged at read time", "1"}} {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, "--fanout-threshold", c.threshold)
			author, reader, other := s.client(t), s.client(t), s.client(t)
			author.signup("author")
			reader.signup("reader")
			other.signup("other")
			reader.follow("author")
			other.follow("author") // two followers: above a threshold of 1
			stranger := s.client(t)
			stranger.signup("stranger")

			st, strangers := reader.stream(""), stranger.stream("")
			p := author.post("live")
			ev := st.next(10 * time.Second)
			if got := st.postID(ev); got != p.ID || ev.ID != p.ID {
				t.Fatalf("event %+v, want post %s with that id", ev, p.ID)
			}
			// The stranger's stream has nothing but heartbeats to say:
			// the reader's next post proves the stranger's was not sent
			// the first one late.
			mine := stranger.post("mine")
			if got := strangers.postID(strangers.next(10 * time.Second)); got != mine.ID {
				t.Fatalf("a stranger's stream got post %s, want only their own %s", got, mine.ID)
			}
		})
	}
}

// A reader who reconnects with the last id they saw gets what they
// missed, in order, once, and then the live posts; none twice.
func TestLiveFeedReplaysFromLastEventID(t *testing.T) {
	s := start(t)
	author, reader := s.client(t), s.client(t)
	author.signup("author")
	reader.signup("reader")
	reader.follow("author")

	st := reader.stream("")
	p1 := author.post("one")
	first := st.next(10 * time.Second)
	if st.postID(first) != p1.ID {
		t.Fatalf("first event %+v, want %s", first, p1.ID)
	}
	st.close()

	p2, p3 := author.post("two"), author.post("three")
	var feed struct{ Items []struct{ ID string } }
	reader.do("GET", "/v2/feed", nil).json(t, &feed) // waits for the fan-out
	if len(feed.Items) != 3 {
		t.Fatalf("feed has %d posts, want 3", len(feed.Items))
	}

	again := reader.stream(first.ID)
	var got []string
	for _, want := range []string{p2.ID, p3.ID} {
		ev := again.next(10 * time.Second)
		if id := again.postID(ev); id != want || ev.ID != want {
			t.Fatalf("replayed %+v, want %s (after %v)", ev, want, got)
		}
		got = append(got, ev.ID)
	}
	p4 := author.post("four")
	if ev := again.next(10 * time.Second); again.postID(ev) != p4.ID {
		t.Fatalf("after the replay: %+v, want the live post %s (no repeat of %v)", ev, p4.ID, got)
	}

	// Up to date: a reconnect with the newest id replays nothing.
	again.close()
	upToDate := reader.stream(p4.ID)
	p5 := author.post("five")
	if ev := upToDate.next(10 * time.Second); upToDate.postID(ev) != p5.ID {
		t.Fatalf("reconnected with the newest id: %+v, want only the new post %s", ev, p5.ID)
	}

	if r := reader.do("GET", "/v2/feed/stream", nil, "Last-Event-ID", "not-an-id"); r.StatusCode != 400 {
		t.Fatalf("bad Last-Event-ID: %d", r.StatusCode)
	}
}

// An idle stream sends comment lines at the heartbeat interval.
func TestLiveFeedHeartbeat(t *testing.T) {
	s := start(t, "--stream-heartbeat", "50ms")
	reader := s.client(t)
	reader.signup("reader")
	st := reader.stream("")
	beats := 0
	deadline := time.After(10 * time.Second)
	for beats < 3 {
		select {
		case ev, ok := <-st.Events:
			if !ok {
				t.Fatal("stream ended")
			}
			if ev.Comment == "heartbeat" {
				beats++
			}
		case <-deadline:
			t.Fatalf("%d heartbeats in 10 s at a 50 ms interval", beats)
		}
	}
}

func TestLiveFeedNeedsASession(t *testing.T) {
	s := start(t)
	anon := s.client(t)
	anon.do("GET", "/v2/feed/stream", nil).problem(t, 401)
	anon.token = "forged"
	anon.do("GET", "/v2/feed/stream", nil).problem(t, 401)
}

// Shutting a node down ends its streams, telling the clients to
// reconnect, instead of waiting out the shutdown grace for them.
func TestLiveFeedEndsOnShutdown(t *testing.T) {
	s := start(t, "--shutdown-timeout", "20s")
	reader := s.client(t)
	reader.signup("reader")
	st := reader.stream("")
	began := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("shutdown took %s: it waited for the stream", took)
	}
	ev := st.next(5 * time.Second)
	if ev.Name != "reconnect" || !strings.Contains(ev.Data, "shutdown") {
		t.Fatalf("last event %+v, want a reconnect for shutdown", ev)
	}
	for ev := range st.Events {
		if ev.Comment == "" {
			t.Fatalf("event after the reconnect: %+v", ev)
		}
	}
}
