package app_test

import (
	"context"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// Two people in two browsers, one following the other: when the author
// posts, the reader's home page shows the "new posts" bar within 2 s,
// without a reload.
func TestBrowserNewPostsBarAppearsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := testenv.Chromium(t)
	s := start(t)
	author, reader := s.client(t), s.client(t)
	author.signup("author")
	reader.signup("reader")
	reader.follow("author")
	photo := filepath.Join(t.TempDir(), "tiny.jpg")
	if err := os.WriteFile(photo, app.SampleJPEG(t, 64, 48, color.RGBA{200, 80, 20, 255}), 0o644); err != nil {
		t.Fatal(err)
	}

	browser := headlessChromium(t, bin, 90*time.Second)
	if err := chromedp.Do(browser); err != nil { // starts the browser; each person gets a context of their own in it
		t.Fatalf("start browser: %v", err)
	}
	authorTab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	readerTab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()

	type step = struct {
		what string
		do   chromedp.Action[chromedp.Void]
	}
	steps := func(ctx context.Context, list ...step) {
		t.Helper()
		for _, st := range list {
			if err := chromedp.Do(ctx, st.do); err != nil {
				t.Fatalf("browser step %q: %v", st.what, err)
			}
		}
	}
	login := func(name string) []step {
		return []step{
			{"open login as " + name, chromedp.Navigate(s.URL + "/login")},
			{"type username", chromedp.SendKeys(chromedp.CSS(`input[name=username]`), name)},
			{"type password", chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "password-"+name)},
			{"submit login", chromedp.Click(chromedp.CSS(`main form button[type=submit]`))},
			{"signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/upload"]`))},
		}
	}
	steps(readerTab, login("reader")...)
	steps(readerTab,
		step{"open home", chromedp.Navigate(s.URL + "/")},
		step{"live stream open", chromedp.WaitReady(chromedp.CSS(`#new-posts[data-live=open]`))},
	)
	if hidden, err := chromedp.Run(readerTab, chromedp.Evaluate[bool](`document.getElementById("new-posts").hidden`)); err != nil || !hidden {
		t.Fatalf("the bar shows before anything was posted (hidden=%v, %v)", hidden, err)
	}

	steps(authorTab, login("author")...)
	steps(authorTab,
		step{"open upload", chromedp.Navigate(s.URL + "/upload")},
		step{"choose photo", chromedp.SetUploadFiles(chromedp.CSS(`input[name=photo]`), []string{photo})},
		step{"type caption", chromedp.SendKeys(chromedp.CSS(`textarea[name=caption]`), "posted while you read")},
		step{"submit upload", chromedp.Click(chromedp.CSS(`main form button[type=submit]`))},
		step{"post page", chromedp.WaitVisible(chromedp.CSS(`article.post`))},
	)
	// A post enters feeds once its thumbnails are made: the 2 s count
	// from then (the upload page waits for them, so usually at once).
	loc, err := chromedp.Run(authorTab, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || !strings.HasPrefix(loc, "/p/") {
		t.Fatalf("after the upload the author is on %q (%v)", loc, err)
	}
	id := strings.TrimPrefix(loc, "/p/")
	testenv.Eventually(t, "the post to be ready", 30*time.Second, func() bool {
		var p struct{ Status string }
		author.do("GET", "/v2/posts/"+id, nil).json(t, &p)
		return p.Status == "ready"
	})
	ready := time.Now()

	barCtx, cancelBar := context.WithTimeout(readerTab, 2*time.Second)
	defer cancelBar()
	if err := chromedp.Do(barCtx, chromedp.WaitVisible(chromedp.CSS(`#new-posts`))); err != nil {
		t.Fatalf("the reader's bar did not appear within 2 s of the post: %v", err)
	}
	t.Logf("bar shown %s after the post was ready", time.Since(ready).Round(time.Millisecond))
	text, err := chromedp.Run(readerTab, chromedp.Text(chromedp.CSS(`#new-posts a`)))
	if err != nil || !strings.Contains(text, "1 new post") {
		t.Fatalf("bar reads %q (%v), want 1 new post", text, err)
	}
	steps(readerTab,
		step{"show the new posts", chromedp.Click(chromedp.CSS(`#new-posts a`))},
		step{"the post is in the feed", chromedp.WaitVisible(chromedp.CSS(`#p` + id))},
	)
}
