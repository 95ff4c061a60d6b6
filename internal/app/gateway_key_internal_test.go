package app

import (
	"testing"

	"github.com/photofeed/photofeed/internal/live"
)

// Streams of readers in one live group hash alike, so they land on one
// api node; other requests hash by the user.
func TestGatewayHashKey(t *testing.T) {
	var a, b int64 = 1, 2
	for live.Group(b) != live.Group(a) {
		b++
	}
	cases := []struct {
		name       string
		path       string
		uid1, uid2 int64
		same       bool
	}{
		{"streams of one group", liveStreamPath, a, b, true},
		{"feed reads of two users", "/v2/feed", a, b, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k1, k2 := hashKey(c.path, c.uid1), hashKey(c.path, c.uid2)
			if (k1 == k2) != c.same {
				t.Fatalf("keys %q and %q: same=%v, want %v", k1, k2, k1 == k2, c.same)
			}
		})
	}
	if k := hashKey(liveStreamPath, 0); k != "" {
		t.Fatalf("signed out: %q, want the client address's turn (empty)", k)
	}
}
