package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// With the NATS server killed, uploads and likes go on (the outbox keeps
// their events), feed reads stop waiting for the fan-out (its
// announcements cannot arrive, nor can the events it would handle), and
// /readyz says the bus is disconnected; once the server is back, the
// events catch up and a read waits for the fan-out again, seeing a post
// made just before it.
func TestFeedReadsWithTheBusDown(t *testing.T) {
	bus := testenv.StartNATS(t, 1)
	s := start(t, "--nats", bus.URL(), "--stream-heartbeat", "50ms")
	alice, bob := s.client(t), s.client(t)
	alice.signup("alice")
	bob.signup("bob")
	if r := bob.do("PUT", "/v1/me/following/alice", nil); r.StatusCode != 204 {
		t.Fatalf("follow: %d %s", r.StatusCode, r.Body)
	}
	first := alice.post("before the outage")
	testenv.Eventually(t, "the post in bob's feed", 15*time.Second, func() bool {
		return len(feedItems(t, bob, "/v1/feed")) == 1
	})

	live := bob.stream("")
	defer live.close()
	busState := func() (int, map[string]any) {
		var ready map[string]any
		r := alice.do("GET", "/readyz", nil)
		r.json(t, &ready)
		return r.StatusCode, ready
	}
	bus.Stop(0)
	// The node learns of it from its connection, a moment later: reads
	// stop waiting from then on.
	testenv.Eventually(t, "readyz: the bus disconnected", 15*time.Second, func() bool {
		_, ready := busState()
		return ready["bus"] == "disconnected"
	})
	// The live stream says it is behind, rather than going quiet.
	if ev := live.next(10 * time.Second); ev.Name != "status" || ev.Data != `{"live":false}` {
		t.Errorf("the live stream with the bus down: %+v, want a status event saying it is not live", ev)
	}
	// The like's event waits in the outbox: the fan-out is behind the
	// writes, and cannot catch up.
	if r := bob.do("PUT", "/v1/posts/"+first.ID+"/like", nil); r.StatusCode != 204 {
		t.Fatalf("like with the bus down: %d %s", r.StatusCode, r.Body)
	}
	for i := range 5 {
		start := time.Now()
		feedItems(t, bob, "/v1/feed")
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Errorf("feed read %d with the bus down took %v: it waited for a fan-out that cannot run", i, took)
		}
	}
	uploadStart := time.Now()
	during := alice.post("during the outage")
	// Its thumbnails' "settled" news cannot arrive either: the upload
	// waits its --upload-wait bound (2 s) and answers with the post as it
	// then stands.
	t.Logf("an upload with the bus down answered in %v", time.Since(uploadStart).Round(time.Millisecond))
	if code, ready := busState(); code != 200 || ready["status"] != "degraded" || ready["bus"] != "disconnected" {
		t.Errorf("readyz with the bus down: %d %v, want 200, degraded, the bus disconnected (the node serves reads and writes)", code, ready)
	}

	// Search answers from its index, and says the index may be behind.
	var found struct{ Warning string }
	r := bob.do("GET", "/v2/search?q=outage", nil)
	r.json(t, &found)
	if r.StatusCode != 200 || r.Header.Get("Warning") == "" || !strings.HasPrefix(found.Warning, "behind:") {
		t.Errorf("search with the bus down: %d, Warning %q, warning %q; want 200 saying it may be behind", r.StatusCode, r.Header.Get("Warning"), found.Warning)
	}

	bus.Restart(0)
	testenv.Eventually(t, "readyz: the bus back", 15*time.Second, func() bool {
		code, ready := busState()
		return code == 200 && ready["bus"] == "ok" && ready["status"] == "ok"
	})
	// ... and live again (the posts that landed meanwhile may come first).
	for ev := live.next(10 * time.Second); ev.Name != "status" || ev.Data != `{"live":true}`; ev = live.next(10 * time.Second) {
		if ev.Name != "post" {
			t.Fatalf("the live stream with the bus back: %+v, want a status event saying it is live again", ev)
		}
	}
	found.Warning = ""
	r = bob.do("GET", "/v2/search?q=outage", nil)
	r.json(t, &found)
	if r.Header.Get("Warning") != "" || found.Warning != "" {
		t.Errorf("search with the bus back: Warning %q, warning %q; want none", r.Header.Get("Warning"), found.Warning)
	}
	testenv.Eventually(t, "the post made during the outage in bob's feed", 15*time.Second, func() bool {
		items := feedItems(t, bob, "/v1/feed")
		return len(items) == 2 && items[0].ID == during.ID
	})
	// The wait is back: a read right after a post waits for its fan-out.
	after := alice.post("after the outage")
	if items := feedItems(t, bob, "/v1/feed"); len(items) != 3 || items[0].ID != after.ID {
		t.Fatalf("a read right after a post, with the bus back: %+v, want %s first", items, after.ID)
	}
}
