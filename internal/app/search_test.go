package app_test

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/testenv"
)

type searchPage struct {
	Items []struct {
		ID       string
		Username string
		Caption  string
	}
	NextCursor string `json:"next_cursor"`
}

func (c *client) search(kind, q string, extra ...string) (searchPage, response) {
	c.t.Helper()
	v := url.Values{"q": {q}, "type": {kind}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	r := c.do("GET", "/v2/search?"+v.Encode(), nil)
	var p searchPage
	if r.StatusCode == 200 {
		r.json(c.t, &p)
	}
	return p, r
}

func TestSearch(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.jsonReq("POST", "/v1/accounts", `{"username":"alice_smith","password":"0123456789","display_name":"Alice Smith"}`)
	c.signup("bob")
	beach := c.post("Sunset at the beach with @alice_smith #Travel #sunset")
	c.post("Breakfast in bed")

	found := func(kind, q, id string) func() bool {
		return func() bool {
			p, _ := c.search(kind, q)
			for _, it := range p.Items {
				if it.ID == id || it.Username == id {
					return true
				}
			}
			return false
		}
	}
	testenv.Eventually(t, "the post found by a caption word", 15*time.Second, found("posts", "sunset", beach.ID))
	testenv.Eventually(t, "the post found by hashtag", 15*time.Second, found("posts", "#travel", beach.ID))

	// The post page links the caption's tag to a search that finds the
	// post, and its mention to the profile.
	postPage := string(c.do("GET", "/p/"+beach.ID, nil).Body)
	for label, shows := range map[string]string{"#Travel": `href="/p/` + beach.ID + `"`, "@alice_smith": "Alice Smith"} {
		m := regexp.MustCompile(`<a href="([^"]+)">` + label + `</a>`).FindStringSubmatch(postPage)
		if m == nil {
			t.Fatalf("the post page does not link %s:\n%s", label, postPage)
		}
		r := c.do("GET", html.UnescapeString(m[1]), nil)
		if r.StatusCode != 200 || !strings.Contains(string(r.Body), shows) {
			t.Fatalf("%s links to %s, which answers %d without %s", label, m[1], r.StatusCode, shows)
		}
	}
	testenv.Eventually(t, "a user found by display name", 15*time.Second, found("users", "smith", "alice_smith"))
	testenv.Eventually(t, "a user found by username prefix", 15*time.Second, found("users", "ali", "alice_smith"))
	if p, _ := c.search("posts", "#breakfast"); len(p.Items) != 0 {
		t.Fatalf("#breakfast matched %v: the caption has no such hashtag", p.Items)
	}

	c.do("DELETE", "/v1/posts/"+beach.ID, nil)
	testenv.Eventually(t, "the deleted post gone from search", 15*time.Second, func() bool { return !found("posts", "sunset", beach.ID)() })

	// Cursor pagination: 25 matches, newest first, each once.
	var want []string
	for i := range 25 {
		want = append([]string{c.post(fmt.Sprintf("photo %d #many", i)).ID}, want...)
	}
	testenv.Eventually(t, "25 posts indexed", 15*time.Second, func() bool { p, _ := c.search("posts", "#many", "limit", "100"); return len(p.Items) == 25 })
	var got []string
	cursor := ""
	for range 5 {
		p, r := c.search("posts", "#many", "limit", "10", "cursor", cursor)
		if r.StatusCode != 200 {
			t.Fatalf("page: %d %s", r.StatusCode, r.Body)
		}
		for _, it := range p.Items {
			got = append(got, it.ID)
		}
		if p.NextCursor == "" {
			break
		}
		if !strings.Contains(linkRel(r, "next"), p.NextCursor) {
			t.Fatalf("no rel=next link for the next page")
		}
		cursor = p.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("paged results %v, want %v", got, want)
	}

	for _, bad := range []url.Values{{"q": {""}}, {"q": {"x"}, "type": {"places"}}, {"q": {strings.Repeat("x", 201)}},
		{"q": {"x"}, "cursor": {"forged"}}, {"q": {"x"}, "limit": {"0"}}} {
		c.do("GET", "/v2/search?"+bad.Encode(), nil).problem(t, 400)
	}

	// The UI's search page.
	page := string(c.do("GET", "/explore?type=users&q=alice", nil).Body)
	if !strings.Contains(page, "@alice_smith") {
		t.Fatal("the search page does not list alice_smith")
	}
}
