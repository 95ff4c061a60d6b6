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

// headlessChromium starts the Chromium at bin for one test, with the flags
// a shared CI machine needs, and returns its first tab, ended after
// timeout or with the test.
func headlessChromium(t *testing.T, bin string, timeout time.Duration) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
	)
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
	// and lazy images do not hold up the load event: wait for it.
	var width int
	testenv.Poll(10*time.Second, func() bool {
		width, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("article.post img").naturalWidth`))
		return err != nil || width != 0
	})
	if err != nil || width != 640 {
		t.Fatalf("feed image naturalWidth = %d, %v; want 640", width, err)
	}
}
