package app_test

import "testing"

// A reader who follows an author merged at read time sees that author's
// posts on the very next feed read: the follow drops the reader's cached
// list of such authors.
func TestFollowingAHighFollowerAuthorShowsAtOnce(t *testing.T) {
	s := start(t, "--fanout-threshold", "1")
	celeb := s.client(t)
	celeb.signup("celeb")
	for _, name := range []string{"fan_a", "fan_b"} { // two followers: above the threshold of 1
		f := s.client(t)
		f.signup(name)
		if r := f.do("PUT", "/v1/me/following/celeb", nil); r.StatusCode != 204 {
			t.Fatalf("follow: %d", r.StatusCode)
		}
	}
	p := celeb.post("merged at read time")
	reader := s.client(t)
	reader.signup("reader")
	var feed struct{ Items []post }
	reader.do("GET", "/v1/feed", nil).json(t, &feed) // caches "follows no such author"
	if len(feed.Items) != 0 {
		t.Fatalf("feed before following: %d posts", len(feed.Items))
	}
	if r := reader.do("PUT", "/v1/me/following/celeb", nil); r.StatusCode != 204 {
		t.Fatalf("follow: %d", r.StatusCode)
	}
	reader.do("GET", "/v1/feed", nil).json(t, &feed)
	if len(feed.Items) != 1 || feed.Items[0].ID != p.ID {
		t.Fatalf("feed right after following the author: %+v, want their post", feed.Items)
	}
}

// Profiles are cached and unknown names remembered as missing; a name
// taken right after someone looked it up shows at once.
func TestProfileOfANameJustTaken(t *testing.T) {
	s := start(t)
	visitor := s.client(t)
	for range 3 {
		visitor.do("GET", "/v1/users/newcomer", nil).problem(t, 404)
	}
	s.client(t).signup("newcomer")
	var u struct{ Username string }
	r := visitor.do("GET", "/v1/users/newcomer", nil)
	if r.StatusCode != 200 {
		t.Fatalf("profile right after signup: %d %s", r.StatusCode, r.Body)
	}
	if r.json(t, &u); u.Username != "newcomer" {
		t.Fatalf("profile: %s", r.Body)
	}
}
