package app_test

import (
	"context"
	"fmt"
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

// headlessChromium starts the Chromium at bin for one test, with the flags
// a shared CI machine needs and more, and returns its first tab, ended
// after timeout or with the test.
func headlessChromium(t *testing.T, bin string, timeout time.Duration, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
	}, more...)...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	return ctx
}

// TestBrowserSignupUploadFeed drives a real Chromium through the UI: sign
// up, upload a photo, and see it, loaded, in the home feed.
func TestBrowserSignupUploadFeed(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	bin := testenv.Chromium(t)
	s := start(t)

	photo := filepath.Join(t.TempDir(), "beach.jpg")
	if err := os.WriteFile(photo, app.SampleJPEG(t, 640, 480, color.RGBA{30, 144, 255, 255}), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := headlessChromium(t, bin, 60*time.Second)

	steps := []struct {
		what string
		do   chromedp.Action[chromedp.Void]
	}{
		{"open sign-up", chromedp.Navigate(s.URL + "/signup")},
		{"type username", chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "browser_user")},
		{"type display name", chromedp.SendKeys(chromedp.CSS(`input[name=display_name]`), "Browser User")},
		{"type password", chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a-very-long-password")},
		{"submit sign-up", chromedp.Click(chromedp.CSS(`main form button[type=submit]`))},
		{"signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/upload"]`))},

		{"open upload", chromedp.Navigate(s.URL + "/upload")},
		{"choose photo", chromedp.SetUploadFiles(chromedp.CSS(`input[name=photo]`), []string{photo})},
		{"type caption", chromedp.SendKeys(chromedp.CSS(`textarea[name=caption]`), "Blue sky from a real browser")},
		{"submit upload", chromedp.Click(chromedp.CSS(`main form button[type=submit]`))},
		// the photo, or its placeholder while the thumbnail job runs
		{"post page shows the post", chromedp.WaitVisible(chromedp.CSS(`article.post`))},
	}
	for _, st := range steps {
		if err := chromedp.Do(ctx, st.do); err != nil {
			t.Fatalf("browser step %q: %v", st.what, err)
		}
	}
	// Thumbnails are made by a job and the feed is a read model kept by the
	// fan-out; each answers within a bound, and on a slow machine (-race)
	// the photo may land later.
	// Reload, as a person would, until it shows.
	var n int
	var err error
	if !testenv.Poll(45*time.Second, func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/")); err != nil {
			t.Fatalf("open feed: %v", err)
		}
		n, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("article.post img").length`))
		return err == nil && n > 0
	}) {
		t.Fatalf("the feed never showed the photo (%d images, %v)", n, err)
	}
	caption, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`article.post .caption`)))
	if err != nil || !strings.Contains(caption, "Blue sky from a real browser") {
		t.Fatalf("feed caption %q, %v", caption, err)
	}
	// The image must have loaded, not just be in the markup. It is lazy,
	// and lazy images do not hold up the load event: wait for it. On this
	// 800 px window its srcset picks the large variant (its src); the
	// width it reports is the one its sizes give it.
	var loaded []any
	testenv.Poll(10*time.Second, func() bool {
		loaded, err = chromedp.Run(ctx, chromedp.Evaluate[[]any](`(i => [i.naturalWidth, i.currentSrc === i.src, i.src])(document.querySelector("article.post img"))`))
		return err != nil || loaded[0] != 0.0
	})
	if err != nil || loaded[0] == 0.0 || loaded[1] != true {
		t.Fatalf("feed image [naturalWidth, the large variant shown, src] = %v, %v", loaded, err)
	}
}

// TestBrowserPages lays every page out in Chromium's phone emulation, at
// 390 and 360 CSS px, with the longest names and captions the forms
// allow, and checks that none is wider than the screen: a page that is
// scrolls sideways on a phone. On each, signed out and signed in, axe-core
// must find no accessibility violation of any impact (its default rules:
// WCAG 2.x A and AA, and its best practices). It keeps a screenshot of the
// signed-in feed to look at (go test -artifacts keeps it).
func TestBrowserPages(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if os.Getenv("PHOTOFEED_TEST_DB") != "" {
		t.Skip("the pages' layout does not depend on the store; it runs in the default mode")
	}
	axe := axeSource(t)
	bin := testenv.Chromium(t)
	s := start(t)

	// The longest username and display name sign-up accepts, and captions
	// with words no line can hold.
	const name = "a_very_long_username_for_test" + "s"
	c := s.client(t)
	if r := c.jsonReq("POST", "/v1/accounts", `{"username":"`+name+`","password":"password-long","display_name":"Maximilian-Bartholomew Featherstonehaugh-Smythe"}`); r.StatusCode != 201 {
		t.Fatalf("sign-up: %d %s", r.StatusCode, r.Body)
	}
	captions := []string{
		"Sunset over the bay with @" + name + " " + strings.Repeat("#golden", 12) + " https://example.com/" + strings.Repeat("a", 90),
		strings.Repeat("Supercalifragilisticexpialidocious", 3) + " and a caption that goes on for a few lines so that it wraps",
		"Short one",
	}
	r := c.jsonReq("POST", "/v1/sessions", `{"username":"`+name+`","password":"password-long"}`)
	var sess struct{ Token string }
	r.json(t, &sess)
	c.token = sess.Token
	// Older posts first: 21 in all, one more than a feed page, so that the
	// feed scrolls on to a second.
	const fillers = 18
	for i := range fillers {
		c.post(fmt.Sprintf("Filler %d", i))
	}
	var last post
	for _, caption := range captions {
		last = c.post(caption)
	}

	ctx := headlessChromium(t, bin, 120*time.Second)
	// fits loads path at each phone width and fails the test if the page
	// is wider than the screen, then runs axe-core on it.
	fits := func(path string, widths ...int64) {
		t.Helper()
		defer checkAccessibility(t, ctx, axe, path)
		for _, w := range widths {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, 844, chromedp.EmulateMobile)); err != nil {
				t.Fatalf("emulate %d px: %v", w, err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+path)); err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
			if err != nil {
				t.Fatalf("measure %s: %v", path, err)
			}
			if scroll, inner := got[0], got[1]; scroll > inner || int64(inner) != w {
				t.Errorf("%s at %d px: the page is %d px wide in a %d px window", path, w, scroll, inner)
			}
		}
	}

	for _, path := range []string{"/", "/signup", "/login", "/explore", "/u/" + name, "/p/" + last.ID} {
		fits(path, 390, 360)
	}

	steps := []struct {
		what string
		do   chromedp.Action[chromedp.Void]
	}{
		{"open login", chromedp.Navigate(s.URL + "/login")},
		{"type username", chromedp.SendKeys(chromedp.CSS(`input[name=username]`), name)},
		{"type password", chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "password-long")},
		{"submit login", chromedp.Click(chromedp.CSS(`main form button[type=submit]`))},
		{"signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/upload"]`))},
	}
	for _, st := range steps {
		if err := chromedp.Do(ctx, st.do); err != nil {
			t.Fatalf("browser step %q: %v", st.what, err)
		}
	}
	// The feed is kept by the fan-out and the images by a job: wait until
	// every post is in it with its photo, so the page is the one people see.
	var n int
	if !testenv.Poll(45*time.Second, func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/")); err != nil {
			t.Fatalf("open feed: %v", err)
		}
		n, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("article.post img").length`))
		return n == 20
	}) {
		t.Fatalf("the feed's first page shows %d of 20 photos", n)
	}

	for _, path := range []string{"/", "/u/" + name, "/p/" + last.ID, "/explore?q=sunset", "/explore?type=users&q=" + name, "/upload"} {
		fits(path, 390, 360)
	}

	fits("/", 390)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is a PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	// ArtifactDir is a temporary directory, kept with go test -artifacts.
	file := filepath.Join(t.ArtifactDir(), "feed-390.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("signed-in feed at 390 px: %s", file)

	// Scrolled to its end, the feed shows the next page's post below the
	// first page's, on the same page, and has no page after it.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/")); err != nil {
		t.Fatalf("open feed: %v", err)
	}
	var shown []int
	if !testenv.Poll(15*time.Second, func() bool {
		chromedp.Run(ctx, chromedp.Evaluate[int](`window.scrollTo(0, document.body.scrollHeight), 0`))
		shown, err = chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.querySelectorAll("main article.post").length,
			document.querySelectorAll("main nav.pager").length, location.search.length]`))
		return err == nil && shown[0] == len(captions)+fillers && shown[1] == 0
	}) {
		t.Fatalf("scrolled to the end, the feed shows [posts, pagers, query length] %v (%v), want [%d 0 0]", shown, err, len(captions)+fillers)
	}
	if shown[2] != 0 {
		t.Fatalf("the feed scrolled on by leaving the page: %v", shown)
	}
}
