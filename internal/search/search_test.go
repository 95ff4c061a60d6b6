package search_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/search"
)

func TestHashtags(t *testing.T) {
	long := strings.Repeat("a", search.MaxHashtagLen)
	for _, tc := range []struct {
		caption string
		want    []string
	}{
		{"Sunset #Travel #sunset #travel", []string{"travel", "sunset"}},
		{"no tags here", nil},
		{"#café au #lait_2 and # alone #", []string{"café", "lait_2"}},
		{"trailing punctuation #ok. #yes, (#inparens) #end!", []string{"ok", "yes", "inparens", "end"}},
		{"not inside words: a#b, email@example.com#frag, x.com/#anchor, &#tag;", nil},
		{"##double and #a#b", []string{"double", "a"}},
		{"a rank is not a tag: #1 #2024, but #2024_paris is", []string{"2024_paris"}},
		{"scripts: #東京 #Москва #हिन्दी #cafe\u0301", []string{"東京", "москва", "हिन्दी", "cafe\u0301"}},
		{"#" + long + " fits, #" + long + "b does not", []string{long}},
	} {
		if got := search.Hashtags(tc.caption); !slices.Equal(got, tc.want) {
			t.Errorf("Hashtags(%q) = %q, want %q", tc.caption, got, tc.want)
		}
	}
}
