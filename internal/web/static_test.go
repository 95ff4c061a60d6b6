package web_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Pages name the stylesheet and scripts by versioned paths (a hash of the
// file's bytes as the first segment), which browsers and edge caches may
// keep for a year: a new release names new paths. The version is in the
// path, not the query, because caches may key on the path alone (the
// edge nginx of docs/architecture.md keys on $uri). A path without the
// current version still serves the current file, cached for an hour.
func TestStaticAssetsVersioned(t *testing.T) {
	f := newFakes()
	page := f.do(t, get("/", "")).Body.String()
	asset := regexp.MustCompile(`(?:href|src)="/static/([0-9a-f]{16})/([a-z.]+)"`)
	found := map[string]string{}
	for _, m := range asset.FindAllStringSubmatch(page, -1) {
		found[m[2]] = m[1]
	}
	if found["style.css"] == "" || found["favicon.svg"] == "" {
		t.Fatalf("the stylesheet and icon are not named by versioned paths: %v\n%s", found, page)
	}
	if regexp.MustCompile(`"/static/[a-z]`).MatchString(page) {
		t.Fatalf("an unversioned /static/ URL on the page:\n%s", page)
	}
	for name, v := range found {
		w := f.do(t, get("/static/"+v+"/"+name, ""))
		if w.Code != 200 || w.Body.Len() == 0 {
			t.Fatalf("/static/%s/%s: %d, %d bytes", v, name, w.Code, w.Body.Len())
		}
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s at its version: Cache-Control %q", name, cc)
		}
		for _, other := range []string{"/static/" + name, "/static/0000000000000000/" + name} {
			w := f.do(t, get(other, ""))
			if cc := w.Header().Get("Cache-Control"); w.Code != 200 || cc != "public, max-age=3600" || w.Body.Len() == 0 {
				t.Errorf("%s: %d, Cache-Control %q, %d bytes", other, w.Code, cc, w.Body.Len())
			}
		}
	}
	// Only the files themselves: no listing, nothing else.
	for _, path := range []string{"/static/", "/static/" + found["style.css"] + "/", "/static/nothing.css", "/static/" + found["style.css"] + "/nothing.css", "/static/style.css/"} {
		if w := f.do(t, get(path, "")); w.Code != 404 || w.Header().Get("Cache-Control") != "" {
			t.Errorf("%s: %d, Cache-Control %q", path, w.Code, w.Header().Get("Cache-Control"))
		}
	}
}

// The infinite-scroll script is sent only with a page that has a next
// page to load: the welcome, login, sign-up and post pages run no script.
func TestScrollScriptOnlyWithAPager(t *testing.T) {
	f := newFakes()
	for _, path := range []string{"/", "/login", "/signup", "/p/" + strconv.FormatInt(bobsPost.ID, 10)} {
		w := f.do(t, get(path, ""))
		if page := w.Body.String(); w.Code != 200 || strings.Contains(page, "<script") {
			t.Errorf("%s: %d, or it carries a script:\n%s", path, w.Code, page)
		}
	}
	feed := f.do(t, get("/", annSession)).Body.String()
	if !strings.Contains(feed, `rel="next"`) || !regexp.MustCompile(`<script src="/static/[0-9a-f]{16}/scroll\.js" defer></script>`).MatchString(feed) {
		t.Fatalf("a feed with an older page has no scroll script:\n%s", feed)
	}
}
