package home_test

import "testing"

// The extras are asked for at a low RFC 9218 urgency, so that an
// overloaded api node turns them away before the feed.
func TestHomeAsksExtrasAtLowUrgency(t *testing.T) {
	priority := partHeaders(t, "Priority", nil)
	want := map[string]string{"/v2/me": "u=5", "/v2/suggestions": "u=5", "/v2/feed": ""}
	for path, p := range want {
		if priority[path] != p {
			t.Errorf("%s asked with Priority %q, want %q", path, priority[path], p)
		}
	}
}
