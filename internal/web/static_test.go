package web_test

import (
	"regexp"
	"strings"
	"testing"
)

// Pages name the stylesheet and scripts by versioned URLs (a hash of the
// file's bytes), which browsers may keep for a year: a new release names
// new URLs. A URL without the current version is still served, but
// cached for an hour only.
func TestStaticAssetsVersioned(t *testing.T) {
	f := newFakes()
	page := f.do(t, get("/", "")).Body.String()
	asset := regexp.MustCompile(`(?:href|src)="(/static/[a-z.]+)\?v=([0-9a-f]{16})"`)
	found := map[string]string{}
	for _, m := range asset.FindAllStringSubmatch(page, -1) {
		found[m[1]] = m[2]
	}
	if found["/static/style.css"] == "" || found["/static/favicon.svg"] == "" {
		t.Fatalf("the stylesheet and icon are not named by versioned URLs: %v\n%s", found, page)
	}
	if regexp.MustCompile(`"/static/[^"?]*"`).MatchString(page) {
		t.Fatalf("an unversioned /static/ URL on the page:\n%s", page)
	}
	for path, v := range found {
		w := f.do(t, get(path+"?v="+v, ""))
		if w.Code != 200 || w.Body.Len() == 0 {
			t.Fatalf("%s?v=%s: %d, %d bytes", path, v, w.Code, w.Body.Len())
		}
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s at its version: Cache-Control %q", path, cc)
		}
		for _, stale := range []string{path, path + "?v=0000000000000000"} {
			w := f.do(t, get(stale, ""))
			if cc := w.Header().Get("Cache-Control"); w.Code != 200 || cc != "public, max-age=3600" {
				t.Errorf("%s: %d, Cache-Control %q", stale, w.Code, cc)
			}
		}
	}
}

// The infinite-scroll script is sent only with a page that has a next
// page to load: the welcome, login and post pages run no script at all.
func TestScrollScriptOnlyWithAPager(t *testing.T) {
	f := newFakes()
	for _, path := range []string{"/", "/login", "/signup"} {
		if page := f.do(t, get(path, "")).Body.String(); strings.Contains(page, "<script") {
			t.Errorf("%s carries a script:\n%s", path, page)
		}
	}
	feed := f.do(t, get("/", annSession)).Body.String()
	if !strings.Contains(feed, `rel="next"`) || !regexp.MustCompile(`<script src="/static/scroll\.js\?v=[0-9a-f]{16}" defer></script>`).MatchString(feed) {
		t.Fatalf("a feed with an older page has no scroll script:\n%s", feed)
	}
}
