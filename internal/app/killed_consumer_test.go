package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/natsbus"
	"github.com/photofeed/photofeed/internal/testenv"
)

// The fan-out consumer's subscription killed on the server (its durable
// consumer deleted) is seen: /readyz answers 503 naming the worker, the
// restart is counted, and the restarted consumer fans new posts out again.
func TestKilledFanOutConsumerIsRestarted(t *testing.T) {
	bus := testenv.StartNATS(t, 1)
	s := start(t, "--nats", bus.URL())
	reader, author := s.client(t), s.client(t)
	reader.signup("reader")
	author.signup("author")
	if r := reader.do("PUT", "/v2/me/following/author", nil); r.StatusCode != 204 {
		t.Fatalf("follow: %d %s", r.StatusCode, r.Body)
	}
	reader.do("GET", "/v2/feed", nil) // the reader's timeline exists from here on
	inFeed := func(id string) func() bool {
		return func() bool {
			var page struct{ Items []struct{ ID string } }
			reader.do("GET", "/v2/feed", nil).json(t, &page)
			return slices.ContainsFunc(page.Items, func(it struct{ ID string }) bool { return it.ID == id })
		}
	}
	testenv.Eventually(t, "a post fanned out before the kill", 15*time.Second, inFeed(author.post("before").ID))
	if r := reader.do("GET", "/readyz", nil); r.StatusCode != 200 {
		t.Fatalf("readyz before the kill: %d %s", r.StatusCode, r.Body)
	}

	nc, err := nats.Connect(bus.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteConsumer(t.Context(), natsbus.EventsStream, feed.ConsumerName); err != nil {
		t.Fatalf("delete the fan-out consumer: %v", err)
	}

	var down response
	testenv.Eventually(t, "/readyz 503 naming the fan-out worker", 15*time.Second, func() bool {
		down = reader.do("GET", "/readyz", nil)
		var body struct{ Status, Workers string }
		down.json(t, &body)
		return down.StatusCode == 503 && body.Status == "unavailable" && strings.Contains(body.Workers, "fan-out")
	})
	t.Logf("readyz while down: %s", down.Body)
	testenv.Eventually(t, "the fan-out restart counted", 15*time.Second, func() bool {
		return strings.Contains(string(s.metrics(t).Body), `photofeed_worker_restarts_total{worker="fan-out"} 1`)
	})
	testenv.Eventually(t, "a post fanned out after the kill", 15*time.Second, inFeed(author.post("after").ID))
	testenv.Eventually(t, "/readyz 200 once the restart has run a while", 15*time.Second, func() bool {
		return reader.do("GET", "/readyz", nil).StatusCode == 200
	})
}
