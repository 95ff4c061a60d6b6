package web

import (
	"html/template"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/search"
)

// captionHTML is a caption as a page shows it: its #hashtags link to the
// search for them and its @mentions to the profile they name; everything
// else is text. Every piece is escaped before it is joined, so a caption
// cannot add markup of its own. Alt text and titles use the plain caption.
func captionHTML(caption string) template.HTML {
	var b strings.Builder
	last := 0
	for _, l := range captionLinks(caption) {
		b.WriteString(template.HTMLEscapeString(caption[last:l.start]))
		b.WriteString(`<a href="`)
		b.WriteString(template.HTMLEscapeString(l.href))
		b.WriteString(`">`)
		b.WriteString(template.HTMLEscapeString(caption[l.start:l.end]))
		b.WriteString(`</a>`)
		last = l.end
	}
	b.WriteString(template.HTMLEscapeString(caption[last:]))
	return template.HTML(b.String())
}

// captionLink is a byte range of a caption and where it links to.
type captionLink struct {
	start, end int
	href       string
}

// captionLinks finds a caption's hashtags (by the search index's own rule,
// so the linked search finds the post) and mentions, in order.
func captionLinks(caption string) []captionLink {
	var links []captionLink
	for _, s := range search.HashtagSpans(caption) {
		links = append(links, captionLink{s[0], s[1], "/explore?q=" + url.QueryEscape(caption[s[0]:s[1]])})
	}
	links = append(links, mentions(caption)...)
	slices.SortFunc(links, func(a, b captionLink) int { return a.start - b.start })
	return links
}

// nameRune is what may continue a word. A mention is the whole run of them
// after an '@', so "@bobé" names nobody rather than linking "@bob".
func nameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '_'
}

// mentions finds the @username mentions of a caption: an '@' that does not
// follow a word character or '/' (not an e-mail address such as x@y.com,
// nor a path such as medium.com/@bob), then a valid username, not followed by another '@' (not a handle on another
// server such as @bob@example.social).
func mentions(caption string) []captionLink {
	var links []captionLink
	prev := rune(-1)
	for i := 0; i < len(caption); {
		r, n := utf8.DecodeRuneInString(caption[i:])
		if r != '@' || nameRune(prev) || prev == '/' {
			prev = r
			i += n
			continue
		}
		prev = r
		end := i + n
		for end < len(caption) {
			t, m := utf8.DecodeRuneInString(caption[end:])
			if !nameRune(t) {
				break
			}
			prev = t
			end += m
		}
		name := caption[i+n : end]
		if identity.ValidUsername(name) && !strings.HasPrefix(caption[end:], "@") {
			links = append(links, captionLink{i, end, "/u/" + url.PathEscape(name)})
		}
		i = end
	}
	return links
}
