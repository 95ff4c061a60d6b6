package app_test

import (
	"slices"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

// A node on the nats-server Debian 12 packages (2.9.10) follows new posts
// in search and fans them out to followers' feeds, as on the embedded
// server, and /readyz says it is ready only when it is.
func TestEventsOnPackagedNATS(t *testing.T) {
	srv := testenv.StartNATSBinary(t)
	t.Logf("nats-server %s at %s", srv.Version, srv.URL)
	s := start(t, "--nats", srv.URL)
	reader, author := s.client(t), s.client(t)
	reader.signup("reader")
	author.signup("author")
	if r := reader.do("PUT", "/v2/me/following/author", nil); r.StatusCode != 204 {
		t.Fatalf("follow: %d %s", r.StatusCode, r.Body)
	}
	reader.do("GET", "/v2/feed", nil) // the reader's timeline exists from here on
	p := author.post("Harbour lights #packaged")

	testenv.Eventually(t, "the new post searchable", 15*time.Second, func() bool {
		page, _ := reader.search("posts", "#packaged")
		return slices.ContainsFunc(page.Items, func(it struct{ ID, Username, Caption string }) bool { return it.ID == p.ID })
	})
	testenv.Eventually(t, "the new post in the follower's feed", 15*time.Second, func() bool {
		var feed struct{ Items []struct{ ID string } }
		reader.do("GET", "/v2/feed", nil).json(t, &feed)
		return slices.ContainsFunc(feed.Items, func(it struct{ ID string }) bool { return it.ID == p.ID })
	})
	var ready struct{ Status, Events string }
	r := reader.do("GET", "/readyz", nil)
	if r.json(t, &ready); r.StatusCode != 200 || ready.Events != "ok" {
		t.Fatalf("readyz %d %s, want 200 with every event consumer running", r.StatusCode, r.Body)
	}
}
