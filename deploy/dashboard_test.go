package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

// queries are the dashboard's PromQL expressions, by panel title, rows'
// panels included.
func (d dashboard) queries() map[string][]string {
	q := map[string][]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				q[p.Title] = append(q[p.Title], t.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return q
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// rulesFileExprs are the rules' expressions and the names they record.
func rulesFileExprs(t *testing.T) (exprs map[string]string, recorded map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Record string `yaml:"record"`
				Alert  string `yaml:"alert"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	exprs, recorded = map[string]string{}, map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			exprs[r.Record+r.Alert] = r.Expr
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	return exprs, recorded
}

// The dashboard is one Grafana imports: recent schema, every panel on a
// chosen Prometheus data source, and the panels the operator looks for.
func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want 36 or later (Grafana 9+)", d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["job"] != "query" {
		t.Errorf("templating variables %v: want a datasource variable and a job query", vars)
	}
	var check func([]panel)
	check = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" && (p.Datasource == nil || p.Datasource.UID != "${datasource}") {
				t.Errorf("panel %q: data source is not ${datasource}", p.Title)
			}
			check(p.Panels)
		}
	}
	check(d.Panels)
	q := d.queries()
	for _, want := range []string{"Request rate by route", "Error ratio vs objective", "p50 latency by route",
		"p99 latency by route", "Error budget remaining (30 days, 99.99 %)", "Requests in flight",
		"Rate-limit decisions", "Load shed", "Goroutines", "Heap in use",
		"Idempotency-Key outcomes", "Job queue by state", "Job attempts by kind and outcome", "Job duration p99 by kind",
		"Outbox backlog", "Events consumer lag", "Fan-out latency (p50, p99)", "Cache hit ratio", "Budget waits (p99)",
		"Live streams open", "Upstream attempts by outcome", "Upstream retries and ejections", "Upstream breaker state"} {
		if len(q[want]) == 0 {
			t.Errorf("no panel %q with a query", want)
		}
	}
}

// grafanaVars stand in for the dashboard's variables, to check its
// queries as PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1d", "$job", "photofeed")

// The dashboard's queries name only series a running node or gateway
// exposes, and only labels those series carry; the rules' expressions
// name only those series or what the rules record.
func TestQueriesNameExposedSeries(t *testing.T) {
	t.Parallel()
	node, gateway := scrape(t), scrapeGateway(t)
	exposed := exposedNames(node)
	maps.Copy(exposed, exposedNames(gateway))
	labels := exposedLabels(node)
	for name, ls := range exposedLabels(gateway) {
		labels[name] = append(labels[name], ls...)
	}
	for title, qs := range loadDashboard(t).queries() {
		for _, q := range qs {
			names := metricNames(q)
			for _, name := range names {
				if !exposed[name] {
					t.Errorf("panel %q: %s is not exposed by photofeed", title, name)
				}
			}
			for _, l := range labelNames(q) {
				if !slices.ContainsFunc(names, func(n string) bool { return slices.Contains(labels[n], l) }) {
					t.Errorf("panel %q: label %s is on none of %v", title, l, names)
				}
			}
		}
	}
	exprs, recorded := rulesFileExprs(t)
	for name, expr := range exprs {
		for _, m := range metricNames(expr) {
			if !exposed[m] && !recorded[m] {
				t.Errorf("rule %s: %s is neither exposed by photofeed nor recorded", name, m)
			}
		}
	}
	labelValues := regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, v := range loadDashboard(t).Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil && !exposed[m[1]] {
			t.Errorf("variable %q: %s is not exposed by photofeed", v.Name, m[1])
		}
	}
}

// The dashboard's queries are PromQL promtool accepts: checked as
// recording rules, its variables stood in for.
func TestDashboardQueriesParse(t *testing.T) {
	t.Parallel()
	promtoolOnly(t)
	bin := promtool(t)
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for _, qs := range loadDashboard(t).queries() {
		for _, q := range qs {
			rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query:%d", len(rules)), Expr: grafanaVars.Replace(q)})
		}
	}
	// YAML takes JSON as it is.
	b, err := json.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := runPromtool(t, bin, ".", nil, "check", "rules", path)
	t.Logf("dashboard queries as rules: %s", strings.TrimSpace(out))
}
