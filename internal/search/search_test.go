package search_test

import (
	"slices"
	"testing"

	"github.com/photofeed/photofeed/internal/search"
)

func TestHashtags(t *testing.T) {
	for caption, want := range map[string][]string{
		"Sunset #Travel #sunset #travel":  {"travel", "sunset"},
		"no tags here":                    nil,
		"#café au #lait_2 and # alone #":  {"café", "lait_2"},
		"email@example.com#notatag? #ok.": {"notatag", "ok"},
	} {
		if got := search.Hashtags(caption); !slices.Equal(got, want) {
			t.Errorf("Hashtags(%q) = %q, want %q", caption, got, want)
		}
	}
}
