package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxHashtagLen is the longest hashtag, in characters: a longer run after
// '#' is text, not a tag, rather than a tag cut short at a point the writer
// did not choose.
const MaxHashtagLen = 64

// tagRune is what a hashtag is made of: letters and digits of any script,
// the marks that some scripts (and decomposed accents) need inside a word,
// and the underscore.
func tagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '_'
}

// HashtagSpans returns where the #hashtags of caption are, as byte offsets
// [start, end) that include the '#'. A tag starts at a '#' that does not
// follow a tag character, '/' or '&' (so "a#b", "x.com/#frag" and "&#39;"
// hold none), runs as far as tag characters go (trailing punctuation is
// not part of it), has at least one letter ("#1" is a rank, not a tag) and
// is at most MaxHashtagLen characters. This is the one definition: what the search
// index files under a tag and what the UI links to the search for it.
func HashtagSpans(caption string) [][2]int {
	var spans [][2]int
	prev := rune(-1)
	for i := 0; i < len(caption); {
		r, n := utf8.DecodeRuneInString(caption[i:])
		if r != '#' || tagRune(prev) || prev == '/' || prev == '&' {
			prev = r
			i += n
			continue
		}
		// The run is consumed whole: nothing inside it starts a tag.
		prev = r
		end, count, letter := i+n, 0, false
		for end < len(caption) {
			t, m := utf8.DecodeRuneInString(caption[end:])
			if !tagRune(t) {
				break
			}
			prev, letter = t, letter || unicode.IsLetter(t)
			count++
			end += m
		}
		if letter && count <= MaxHashtagLen {
			spans = append(spans, [2]int{i, end})
		}
		i = end
	}
	return spans
}

// Hashtags returns the distinct #tags of a caption, lower-cased, without
// the '#'.
func Hashtags(caption string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range HashtagSpans(caption) {
		t := strings.ToLower(caption[s[0]+1 : s[1]])
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
