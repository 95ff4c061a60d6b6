package natsbus_test

import (
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/natsbus"
)

// An announcer never holds its node up: with no server to reach, it
// connects in the background and a broadcast returns at once.
func TestAnnouncerDoesNotWaitForTheBus(t *testing.T) {
	a, err := natsbus.DialAnnouncer("nats://127.0.0.1:1")
	if err != nil {
		t.Fatalf("dial with no server: %v", err)
	}
	defer a.Close()
	start := time.Now()
	for range 100 {
		a.Broadcast("photofeed.nodes.heartbeat", []byte(`{}`))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("100 broadcasts with the bus down took %s", d)
	}
}
