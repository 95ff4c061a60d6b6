package natsbus

import "testing"

// The filter a consumer applies itself, where the server takes one filter
// subject only, matches as the server's own filter would: the same
// wildcards, and a subject with an empty token matched by none.
func TestSubjectFilter(t *testing.T) {
	for _, c := range []struct {
		filter, subject string
		want            bool
	}{
		{"photofeed.events.PhotoPosted", "photofeed.events.PhotoPosted", true},
		{"photofeed.events.PhotoPosted", "photofeed.events.PhotoDeleted", false},
		{"photofeed.events.PhotoPosted", "photofeed.events.PhotoPosted.x", false},
		{"photofeed.events.PhotoPosted", "photofeed.events", false},
		{"photofeed.events.>", "photofeed.events.PhotoPosted", true},
		{"photofeed.events.>", "photofeed.events.a.b", true},
		{"photofeed.events.>", "photofeed.events", false},
		{"photofeed.*.PhotoPosted", "photofeed.events.PhotoPosted", true},
		{"photofeed.*.PhotoPosted", "photofeed.events.x.PhotoPosted", false},
		{"photofeed.*", "photofeed.events.x", false},
		{"photofeed.*.PhotoPosted", "photofeed..PhotoPosted", false},
	} {
		if got := subjectFilter([]string{"other.subject", c.filter})(c.subject); got != c.want {
			t.Errorf("filter %q, subject %q: %v, want %v", c.filter, c.subject, got, c.want)
		}
	}
}
