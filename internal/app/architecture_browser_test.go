package app_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// lostWithin is how soon after an api node is killed its box must say
// so: three missed one-second beats, then the page's next tick.
const lostWithin = 5 * time.Second

// TestBrowserArchitectureSeesANodeDie opens the architecture page of a
// `photofeed cluster` (a gateway, two api nodes, a worker, PostgreSQL
// with a replica, Redis, three NATS servers) in Chromium as an administrator,
// kills one api node with SIGKILL and waits for its box to turn lost,
// which it must within lostWithin. The page must fit a 390 px phone and
// pass axe-core, with a lost node on it. The screenshot goes to
// $PHOTOFEED_ARCH_SCREENSHOT, or the test's artifact directory.
func TestBrowserArchitectureSeesANodeDie(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	needClusterEngines(t)
	bin := testenv.Chromium(t)
	axe := axeSource(t)

	started := time.Now()
	c := startClusterProcess(t, "--api", "2", "--workers", "1", "--logical-shards", "8", "--rate-limits", "off",
		"--", "--argon2-memory", "64", "--argon2-time", "1")
	t.Logf("cluster ready in %s", time.Since(started).Round(time.Millisecond))
	api1, api2 := c.urls["api-1"], c.urls["api-2"]
	if api1 == "" || api2 == "" || c.pids["api-2"] == 0 || c.urls["postgres"] == "" {
		t.Fatalf("the table lists %v (PIDs %v), want api-1, api-2 and postgres", c.urls, c.pids)
	}
	victim, err := url.Parse(api2)
	if err != nil {
		t.Fatal(err)
	}

	const admin = "arch_admin"
	(&server{URL: api1}).client(t).signup(admin)
	var out bytes.Buffer
	if err := app.Run(context.Background(), []string{"users", "grant-admin", admin, "--db", c.urls["postgres"], "--data-dir", t.TempDir()},
		func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("grant-admin: %v %s", err, out.String())
	}

	ctx := headlessChromium(t, bin, 90*time.Second)
	steps := []struct {
		what string
		do   chromedp.Action[chromedp.Void]
	}{
		{"phone width", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)},
		{"open login", chromedp.Navigate(api1 + "/login")},
		{"type username", chromedp.SendKeys(chromedp.CSS(`input[name=username]`), admin)},
		{"type password", chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "password-"+admin)},
		{"submit login", chromedp.Click(chromedp.CSS(`main form button[type=submit]`))},
		{"signed in", chromedp.WaitVisible(chromedp.CSS(`a[href="/upload"]`))},
		{"open the page", chromedp.Navigate(api1 + "/admin/architecture")},
	}
	for _, st := range steps {
		if err := chromedp.Do(ctx, st.do); err != nil {
			t.Fatalf("browser step %q: %v", st.what, err)
		}
	}
	stateOf := `(a => { const b = document.querySelector('[data-role=api] [data-addr="' + a + '"]'); return b ? b.dataset.state : "" })(` +
		strconv.Quote(victim.Host) + `)`
	count := func(sel string) int {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		return n
	}
	// Every node has announced itself by the time the cluster is ready,
	// or within a beat of it.
	testenv.Eventually(t, "two api nodes and a worker up on the live page", 10*time.Second, func() bool {
		return count(`#arch[data-live=open] [data-role=api] [data-state=up]`) == 2 && count(`[data-role=worker] [data-state=up]`) == 1 &&
			count(`[data-role=gateway] [data-state=up]`) == 1
	})

	if err := syscall.Kill(c.pids["api-2"], syscall.SIGKILL); err != nil {
		t.Fatalf("kill api-2: %v", err)
	}
	killed := time.Now()
	var state string
	if !testenv.Poll(lostWithin, func() bool {
		state, _ = chromedp.Run(ctx, chromedp.Evaluate[string](stateOf))
		return state == "lost"
	}) {
		t.Fatalf("api-2 (%s) killed %s ago is shown %q, want lost", victim.Host, time.Since(killed).Round(time.Millisecond), state)
	}
	t.Logf("api-2 shown lost %s after SIGKILL", time.Since(killed).Round(time.Millisecond))
	if n := count(`[data-role=api] [data-state=up]`); n != 1 {
		t.Errorf("%d api nodes up after one of two was killed", n)
	}

	wide, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if err != nil || wide[0] > wide[1] {
		t.Errorf("the page at 390 px: [scroll width, window] %v, %v", wide, err)
	}
	checkAccessibility(t, ctx, axe, "/admin/architecture")

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	file := os.Getenv("PHOTOFEED_ARCH_SCREENSHOT")
	if file == "" {
		file = filepath.Join(t.ArtifactDir(), "architecture-lost-390.png")
	}
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("the page with api-2 lost, at 390 px: %s", file)
}
