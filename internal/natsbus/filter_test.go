package natsbus

import "testing"

func TestSubjectMatches(t *testing.T) {
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
	} {
		if got := subjectMatches(c.filter, c.subject); got != c.want {
			t.Errorf("subjectMatches(%q, %q) = %v, want %v", c.filter, c.subject, got, c.want)
		}
	}
}
