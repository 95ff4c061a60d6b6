package app_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// A reader's live stream goes through the gateway to one api node. When
// that node is killed, the stream ends; the reader reconnects through the
// gateway with the last id it saw, lands on another node, and gets what
// was posted meanwhile, then the live posts: nothing missed, nothing twice.
func TestLiveStreamFailsOverThroughTheGateway(t *testing.T) {
	sameInEveryMode(t)
	db := testenv.PostgresURL(t)
	bus := testenv.StartNATS(t, 1)
	// One media directory for both nodes, as photofeed cluster links it:
	// an upload one node stores, the other's thumbnail job reads.
	media := t.TempDir()
	flags := []string{"--db", db, "--logical-shards", "16", "--nats", bus.URL(), "--secret", gatewaySecret}
	var logs testenv.LogBuffer
	var nodes []*nodeProcess
	var urls []string
	for range 2 {
		dir := t.TempDir()
		if err := os.Symlink(media, filepath.Join(dir, "media")); err != nil {
			t.Fatal(err)
		}
		n := startNodeProcess(t, dir, &logs, flags...)
		nodes, urls = append(nodes, n), append(urls, n.URL)
	}
	gw := startGateway(t, nodeOptions{}, urls)
	author, reader := gw.client(t), gw.client(t)
	author.signup("author")
	reader.signup("reader")
	reader.follow("author")

	st := reader.stream("")
	p1 := author.post("before")
	first := st.next(20 * time.Second)
	if st.postID(first) != p1.ID {
		t.Fatalf("first event %+v, want %s", first, p1.ID)
	}
	holder := streamHolder(t, gw, urls)
	nodes[holder].kill(t)
	testenv.Eventually(t, "the stream to end with its node", 20*time.Second, func() bool {
		select {
		case _, open := <-st.Events:
			return !open
		default:
			return false
		}
	})
	testenv.Eventually(t, "the killed node out of rotation", 20*time.Second, func() bool {
		return !upstreamUsable(t, gw, urls[holder])
	})

	p2 := author.post("while away")
	again := reader.stream(first.ID)
	if ev := again.next(20 * time.Second); again.postID(ev) != p2.ID || ev.ID != p2.ID {
		t.Fatalf("after reconnecting with %s: %+v, want the missed post %s", first.ID, ev, p2.ID)
	}
	p3 := author.post("after")
	if ev := again.next(20 * time.Second); again.postID(ev) != p3.ID {
		t.Fatalf("then %+v, want the live post %s (and no repeat)", ev, p3.ID)
	}
}

// gatewayUpstreams is the gateway's /readyz view of its upstreams.
type gatewayUpstreams struct {
	Upstreams []struct {
		URL      string `json:"url"`
		Usable   bool   `json:"usable"`
		InFlight int    `json:"in_flight"`
		Streams  int    `json:"streams"`
	}
}

// streamHolder is the index in urls of the upstream holding the one
// stream open through gw.
func streamHolder(t *testing.T, gw *server, urls []string) int {
	t.Helper()
	var body gatewayUpstreams
	send(t, "GET", gw.URL+"/readyz").json(t, &body)
	for _, u := range body.Upstreams {
		for i, url := range urls {
			if u.URL == url && u.Streams > 0 {
				return i
			}
		}
	}
	t.Fatalf("no upstream holds the stream: %+v", body)
	return -1
}

func upstreamUsable(t *testing.T, gw *server, url string) bool {
	t.Helper()
	var body gatewayUpstreams
	send(t, "GET", gw.URL+"/readyz").json(t, &body)
	for _, u := range body.Upstreams {
		if u.URL == url {
			return u.Usable
		}
	}
	return false
}
