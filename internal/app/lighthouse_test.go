package app_test

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/cluster"
	"github.com/photofeed/photofeed/internal/testenv"
)

// TestLighthouse runs Lighthouse (tools/lighthouse) in Debian's Chromium,
// with its defaults (a mid-range phone on a slow 4G link, simulated), on
// the welcome and login pages, signed out, and on the home feed of a
// reader with 20 photos in it, signed in through the login form: 100 in
// performance, accessibility, best practices and SEO on the first two, at
// least 95 in each on the feed.
func TestLighthouse(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if os.Getenv("PHOTOFEED_TEST_DB") != "" {
		t.Skip("the pages do not depend on the store; it runs in the default mode")
	}
	lighthouse, err := filepath.Abs(filepath.Join("..", "..", "tools", "lighthouse", "node_modules", ".bin", "lighthouse"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lighthouse); err != nil {
		testenv.Missing(t, "Lighthouse (npm ci --prefix tools/lighthouse)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Missing(t, "Node.js (apt-get install nodejs)")
	}
	bin := testenv.Chromium(t)
	s := start(t)

	c := s.client(t)
	if r := c.jsonReq("POST", "/v1/accounts", `{"username":"reader","password":"password-long","display_name":"Reader"}`); r.StatusCode != 201 {
		t.Fatalf("sign-up: %d %s", r.StatusCode, r.Body)
	}
	var sess struct{ Token string }
	c.jsonReq("POST", "/v1/sessions", `{"username":"reader","password":"password-long"}`).json(t, &sess)
	c.token = sess.Token
	for i := range 20 { // a phone photo's proportions, each its own colour
		photo := app.SampleJPEG(t, 1200, 900, color.RGBA{uint8(i * 12), 120, uint8(255 - i*12), 255})
		if r := c.upload("/v1/posts", photo, fmt.Sprintf("Photo %d of the day #daily", i)); r.StatusCode != 201 {
			t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
		}
	}

	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// A debugging port (over a websocket) for Lighthouse to drive the same
	// browser, whose cookie jar holds the session.
	ctx := headlessChromium(t, bin, 5*time.Minute, chromedp.Flag("remote-debugging-port", strconv.Itoa(port)), remote.WebSocket)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	run := func(path string) (map[string]float64, []string) {
		t.Helper()
		report := filepath.Join(t.TempDir(), "report.json")
		// The browser's storage is kept: it holds the session cookie.
		cmd := exec.CommandContext(ctx, lighthouse, s.URL+path, "--port", strconv.Itoa(port), "--disable-storage-reset",
			"--only-categories", "performance,accessibility,best-practices,seo", "--output", "json", "--output-path", report, "--quiet")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lighthouse %s: %v\n%s", path, err, out)
		}
		scores, missed, err := readLighthouse(report)
		if err != nil {
			t.Fatalf("lighthouse %s: %v", path, err)
		}
		t.Logf("Lighthouse on %s: %v", path, scores)
		return scores, missed
	}
	audit := func(path string, want float64) {
		t.Helper()
		scores, missed := run(path)
		// Performance is measured on this machine's CPU, shared with the
		// rest of CI: a run slowed by a neighbour is run again (at most
		// twice), as Lighthouse's own advice on variance has it. The
		// other categories do not vary.
		for retry := 0; retry < 2 && scores["performance"] < want; retry++ {
			scores, missed = run(path)
		}
		for _, cat := range []string{"performance", "accessibility", "best-practices", "seo"} {
			score, ok := scores[cat]
			if !ok {
				t.Errorf("Lighthouse on %s: no %s score", path, cat)
			} else if score < want {
				t.Errorf("Lighthouse on %s: %s %.0f, want at least %.0f; audits not passed: %s", path, cat, score*100, want*100,
					strings.Join(missed, "; "))
			}
		}
	}
	audit("/", 1)
	audit("/login", 1)

	signIn := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(s.URL + "/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "reader"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "password-long"),
		chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/upload"]`)),
	}
	for _, step := range signIn {
		if err := chromedp.Do(ctx, step); err != nil {
			t.Fatalf("sign in: %v", err)
		}
	}
	audit("/", 0.95)
}

// readLighthouse reads a Lighthouse JSON report: each category's score,
// and the audits that count and did not pass, with their titles.
func readLighthouse(path string) (map[string]float64, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var r struct {
		Categories map[string]struct {
			Score *float64
			Refs  []struct{ ID string } `json:"auditRefs"`
		}
		Audits map[string]struct {
			Title        string
			Score        *float64
			NumericValue *float64
		}
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, nil, err
	}
	scores := map[string]float64{}
	missed := map[string]bool{}
	for name, c := range r.Categories {
		if c.Score == nil {
			return nil, nil, fmt.Errorf("no %s score (the run failed)", name)
		}
		scores[name] = *c.Score
		for _, ref := range c.Refs {
			if a, ok := r.Audits[ref.ID]; ok && a.Score != nil && *a.Score < 1 {
				missed[ref.ID+" ("+a.Title+")"] = true
			}
		}
	}
	var list []string
	for m := range missed {
		list = append(list, m)
	}
	sort.Strings(list)
	// The metrics the performance score is made of, so that a run below
	// the goal says which one fell and by how much.
	for _, m := range []string{"first-contentful-paint", "largest-contentful-paint", "speed-index", "total-blocking-time", "cumulative-layout-shift"} {
		if a, ok := r.Audits[m]; ok && a.NumericValue != nil {
			scores[m] = *a.NumericValue
		}
	}
	return scores, list, nil
}
