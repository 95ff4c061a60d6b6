package web

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

func TestCaptionHTML(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct{ name, caption, want string }{
		{"empty", "", ""},
		{"plain text", "Harbour at dawn", "Harbour at dawn"},
		{"plain text is escaped", `Fish & "chips" <3 it's`, `Fish &amp; &#34;chips&#34; &lt;3 it&#39;s`},
		{"hashtag", "Sunset #travel", `Sunset <a href="/explore?q=%23travel">#travel</a>`},
		{"hashtag keeps its case; the search does not mind", "#Travel",
			`<a href="/explore?q=%23Travel">#Travel</a>`},
		{"hashtags side by side", "#a_1 #b2,#c", `<a href="/explore?q=%23a_1">#a_1</a> <a href="/explore?q=%23b2">#b2</a>,<a href="/explore?q=%23c">#c</a>`},
		{"trailing punctuation is not part of a tag", "(#sea). #sky! #sun?",
			`(<a href="/explore?q=%23sea">#sea</a>). <a href="/explore?q=%23sky">#sky</a>! <a href="/explore?q=%23sun">#sun</a>?`},
		{"unicode tag, query-escaped", "#café #東京",
			`<a href="/explore?q=%23caf%C3%A9">#café</a> <a href="/explore?q=%23%E6%9D%B1%E4%BA%AC">#東京</a>`},
		{"tag with combining marks", "#हिन्दी", `<a href="/explore?q=%23%E0%A4%B9%E0%A4%BF%E0%A4%A8%E0%A5%8D%E0%A4%A6%E0%A5%80">#हिन्दी</a>`},
		{"no tag inside a word, a URL or a reference", "a#b x.com/#frag &#39; # alone ##", "a#b x.com/#frag &amp;#39; # alone ##"},
		{"a number is not a tag", "#1 fan", "#1 fan"},
		{"longest tag", "#" + long, `<a href="/explore?q=%23` + long + `">#` + long + `</a>`},
		{"a tag too long is text, not cut short", "#" + long + "b", "#" + long + "b"},
		{"mention", "with @bob_2.", `with <a href="/u/bob_2">@bob_2</a>.`},
		{"mention at the start, then punctuation", "@ann: hi", `<a href="/u/ann">@ann</a>: hi`},
		{"not a username: too short, too long, capitals, accents", "@al @" + strings.Repeat("x", 31) + " @Bob @bobé",
			"@al @" + strings.Repeat("x", 31) + " @Bob @bobé"},
		{"e-mail address", "mail x@y.com or ann.lee@example.org", "mail x@y.com or ann.lee@example.org"},
		{"handle on another server", "@bob@example.social", "@bob@example.social"},
		{"path in a URL", "medium.com/@bob", "medium.com/@bob"},
		{"tag and mention together", "#tag@bob @bob#tag",
			`<a href="/explore?q=%23tag">#tag</a>@bob <a href="/u/bob">@bob</a>#tag`},
		{"markup after a hash is text", "#<script>alert(1)</script>", "#&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"markup right after a tag is text", "#tag<img src=x onerror=alert(1)>",
			`<a href="/explore?q=%23tag">#tag</a>&lt;img src=x onerror=alert(1)&gt;`},
		{"attribute breakout after a mention is text", `@"onmouseover=alert(1) @bob"onmouseover=alert(1)`,
			`@&#34;onmouseover=alert(1) <a href="/u/bob">@bob</a>&#34;onmouseover=alert(1)`},
		{"line breaks kept", "one #a\n@bob two", "one <a href=\"/explore?q=%23a\">#a</a>\n<a href=\"/u/bob\">@bob</a> two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(captionHTML(tc.caption)); got != tc.want {
				t.Errorf("captionHTML(%q)\n got %s\nwant %s", tc.caption, got, tc.want)
			}
		})
	}
}

// The longest caption a post may have, all tags and mentions, comes out
// whole and in linear time.
func TestCaptionHTMLLong(t *testing.T) {
	var b strings.Builder
	for b.Len() < posts.MaxCaptionLen-12 {
		b.WriteString("#tag @bob x ")
	}
	caption := b.String()
	start := time.Now()
	got := string(captionHTML(caption))
	if d := time.Since(start); d > time.Second {
		t.Errorf("a %d-byte caption took %v", len(caption), d)
	}
	n := strings.Count(caption, "#tag")
	if links := strings.Count(got, "<a "); links != 2*n {
		t.Errorf("%d links in a caption with %d tags and as many mentions", links, n)
	}
	checkCaptionHTML(t, caption, got)
}

func FuzzCaptionHTML(f *testing.F) {
	for _, s := range []string{"", "Sunset #travel with @bob.", "#<script>", `@"onmouseover=`, "x@y.com a#b #1",
		"#café #हिन्दी @ann@x", "&amp; &#35;tag; <a href=\"/\">", "\x00#\xff@bob"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, caption string) {
		checkCaptionHTML(t, caption, string(captionHTML(caption)))
	})
}

var captionLinkTag = regexp.MustCompile(`<a href="([^"<>]*)">([^<>]*)</a>`)

// checkCaptionHTML checks what captionHTML made of caption: the only
// markup in it is links to a search or a profile, each around the text it
// is for, and with the links' tags taken off it reads back as the caption.
func checkCaptionHTML(t *testing.T, caption, got string) {
	t.Helper()
	text := captionLinkTag.ReplaceAllStringFunc(got, func(link string) string {
		m := captionLinkTag.FindStringSubmatch(link)
		href, label := html.UnescapeString(m[1]), html.UnescapeString(m[2])
		switch {
		case strings.HasPrefix(label, "#"):
			u, err := url.Parse(href)
			if err != nil || u.Path != "/explore" || len(u.Query()) != 1 || u.Query().Get("q") != label {
				t.Errorf("%s links to %q", label, href)
			}
		case strings.HasPrefix(label, "@"):
			if !identity.ValidUsername(label[1:]) || href != "/u/"+label[1:] {
				t.Errorf("%s links to %q", label, href)
			}
		default:
			t.Errorf("a link around %q", label)
		}
		return m[2]
	})
	if i := strings.IndexAny(text, `<>"`); i >= 0 {
		t.Fatalf("captionHTML(%q) has markup of its own at %d: %s", caption, i, got)
	}
	// Escaping turns NUL into U+FFFD, as html/template does: a browser
	// shows nothing else for it.
	if back, want := html.UnescapeString(text), strings.ReplaceAll(caption, "\x00", "\uFFFD"); back != want {
		t.Fatalf("captionHTML(%q) reads back as %q: %s", caption, back, got)
	}
}
