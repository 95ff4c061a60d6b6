package deploy_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	promqlString   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	grafanaVar     = regexp.MustCompile(`\$\{[^}]*\}|\$\w+`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
)

// promqlKeywords are the identifiers of PromQL that name no series.
var promqlKeywords = []string{"and", "or", "unless", "by", "without", "on", "ignoring",
	"group_left", "group_right", "offset", "bool", "inf", "nan", "atan2"}

// metricNames returns the series names a PromQL expression selects: a
// small scanner rather than Prometheus's parser, whose module would come
// with much of the Prometheus server. It blanks out strings, label
// matchers, ranges, groupings and Grafana variables, then keeps the
// identifiers that are not numbers, keywords, or calls (a name before
// "(" is a function or an aggregation).
func metricNames(expr string) []string {
	for _, re := range []*regexp.Regexp{promqlString, promqlMatchers, promqlRange, promqlGrouping, grafanaVar} {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(expr, -1) {
		name := expr[loc[0]:loc[1]]
		if loc[0] > 0 && (isDigit(expr[loc[0]-1]) || expr[loc[0]-1] == '.') {
			continue // an exponent or a duration's unit: 1e-4, 5m
		}
		if strings.HasPrefix(strings.TrimLeft(expr[loc[1]:], " \t\n"), "(") {
			continue
		}
		if slices.Contains(promqlKeywords, name) {
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

var promqlLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)

// labelNames returns the label names an expression matches on or groups
// by: those in its selectors' matchers and in by, without, on, ignoring,
// group_left and group_right.
func labelNames(expr string) []string {
	expr = grafanaVar.ReplaceAllString(expr, " ")
	var names []string
	add := func(name string) {
		if name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, m := range promqlMatchers.FindAllString(promqlString.ReplaceAllString(expr, `""`), -1) {
		for _, l := range promqlLabel.FindAllStringSubmatch(m, -1) {
			add(l[1])
		}
	}
	for _, g := range promqlGrouping.FindAllString(expr, -1) {
		_, list, _ := strings.Cut(g, "(")
		for l := range strings.SplitSeq(strings.TrimSuffix(list, ")"), ",") {
			add(strings.TrimSpace(l))
		}
	}
	return names
}

func TestLabelNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`go_goroutines`, nil},
		{`sum by (kind, le) (rate(h_bucket{job=~"$job",state!="a=b"}[$__rate_interval]))`, []string{"job", "state", "kind", "le"}},
		{`x > on (job) group_left (slo) y{a='}', b = "c"}`, []string{"a", "b", "job", "slo"}},
	} {
		if got := labelNames(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("labelNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`http_requests_in_flight`, []string{"http_requests_in_flight"}},
		{`sum by (route, le) (rate(http_request_duration_seconds_bucket{job=~"$job",route="GET /v1/feed"}[$__rate_interval]))`,
			[]string{"http_request_duration_seconds_bucket"}},
		{`1 - (sum(increase(a_total{code=~"5.."}[30d])) or vector(0)) / sum without (code) (increase(a_total[30d])) / 1e-4`,
			[]string{"a_total"}},
		{"x:y:ratio_rate5m > on (job) group_left (slo) (14.4 * 0.0001) and go_goroutines offset 5m", []string{"x:y:ratio_rate5m", "go_goroutines"}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket{a='}'}[5m])))`, []string{"h_bucket"}},
	} {
		if got := metricNames(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}
