package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/photofeed/photofeed/internal/testenv"
)

// axeViolation is what the test reports of one axe-core rule a page
// breaks: the rule, its impact and the first elements that break it.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Nodes  []string `json:"nodes"`
}

// runAxe is axe-core's check of the whole page, every rule it runs by
// default (WCAG 2.x A and AA, and its best practices).
const runAxe = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))})))`

// axeSource is axe-core from tools/axe (npm ci --prefix tools/axe), or a
// skip when it is not installed.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "tools", "axe", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		testenv.Missing(t, "axe-core (npm ci --prefix tools/axe)")
	}
	return string(b)
}

// checkAccessibility runs axe-core on the page open in ctx (path, for the
// report) and fails the test on every violation.
func checkAccessibility(t *testing.T, ctx context.Context, axe, path string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+";0")); err != nil {
		t.Fatalf("load axe-core into %s: %v", path, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](runAxe, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", path, err)
	}
	for _, v := range found {
		t.Errorf("axe-core on %s: %s (%s) at %s", path, v.ID, v.Impact, strings.Join(v.Nodes, ", "))
	}
}
