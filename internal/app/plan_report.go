package app

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/photofeed/photofeed/capacity"
)

// report is what `photofeed plan` prints: sections of table rows.
type report struct {
	title    string
	sections []section
}

type section struct {
	title   string
	headers []string
	rows    [][]string
	notes   []string
}

func buildReport(o planOptions, est capacity.Estimate, node capacity.NodeCapacity, z capacity.Sizing) report {
	return report{
		title: "photofeed plan · units: " + o.units.String(),
		sections: []section{
			estimateSection(o, est),
			ninesSection(o.in.Availability),
			compositeSection(o.components, o.in.Availability),
			deploymentSection(o, est, node, z),
		},
	}
}

func estimateSection(o planOptions, est capacity.Estimate) section {
	u := o.units
	in := o.in
	n := capacity.FormatCount
	short := capacity.FormatShort
	b := u.FormatBytes
	approxB := func(v float64) string { return "~" + u.FormatBytesSig(v, 2) }
	approxN := func(v float64) string { return "~" + n(capacity.Round(v, 2)) }
	s := section{
		title:   "Back-of-envelope estimate",
		headers: []string{"quantity", "formula", "exact", "≈ 2 s.f."},
	}
	rw := in.ReadWriteRatio
	s.rows = [][]string{
		{"QPS", fmt.Sprintf("DAU × actions/day / 86,400 = %s × %s / 86,400", short(in.DAU), n(in.ActionsPerDay)),
			n(est.QPS) + " QPS", approxN(est.QPS) + " QPS"},
		{"peak QPS", fmt.Sprintf("QPS × peak factor = %s × %s", n(est.QPS), n(in.PeakFactor)),
			n(est.PeakQPS) + " QPS", approxN(est.PeakQPS) + " QPS"},
		{"read QPS", fmt.Sprintf("QPS × r / (r + 1), r = %s reads per write", n(rw)), n(est.ReadQPS) + " QPS", approxN(est.ReadQPS) + " QPS"},
		{"write QPS", "QPS / (r + 1)", n(est.WriteQPS) + " QPS", approxN(est.WriteQPS) + " QPS"},
		{"storage", fmt.Sprintf("uploads/day × photo size × retention = %s × %s × %s d", short(in.UploadsPerDay), b(in.PhotoSize), n(in.RetentionDays)),
			b(est.StoragePerYr), approxB(est.StoragePerYr)},
		{"bandwidth", fmt.Sprintf("QPS × response size = %s × %s", n(est.QPS), b(in.ResponseSize)),
			b(est.Bandwidth) + "/s", approxB(est.Bandwidth) + "/s"},
		{"uploads", fmt.Sprintf("uploads/day / 86,400 = %s / 86,400", short(in.UploadsPerDay)), n(est.UploadsPerS) + " /s", approxN(est.UploadsPerS) + " /s"},
		{"peak uploads", fmt.Sprintf("uploads × peak factor = %s × %s", n(est.UploadsPerS), n(in.PeakFactor)), n(est.PeakUploadsS) + " /s", approxN(est.PeakUploadsS) + " /s"},
	}
	if o.seed && u == capacity.Decimal {
		addPrimerColumn(&s, est, in.ResponseSize, b)
	}
	return s
}

// addPrimerColumn sets the system-design primer's own figures beside the
// estimate, for the primer's worked example in decimal units.
func addPrimerColumn(s *section, est capacity.Estimate, responseSize float64, b func(float64) string) {
	s.headers = append(s.headers, "system-design primer says")
	seedBW := capacity.Round(est.QPS, 2) * responseSize
	said := map[string]string{
		"QPS":       "100M × 5 / 86400 ~ 5,800 QPS",
		"storage":   "10M × 500KB × 365 ~ 1.8 PB/yr",
		"bandwidth": fmt.Sprintf("5800 × 200KB = %s/s ~ 1.1 GB/s", b(seedBW)),
	}
	for i, row := range s.rows {
		s.rows[i] = append(row, said[row[0]])
	}
	s.notes = append(s.notes,
		"The system-design primer multiplies the rounded 5,800 QPS by 200 KB (1.16 GB/s) and states ~1.1 GB/s; from the exact QPS it is 1.157 GB/s, or 1.078 GiB/s in binary units (--binary).")
}

func ninesSection(target float64) section {
	s := section{title: "Availability: downtime allowed", headers: []string{"availability"}}
	for _, p := range capacity.Periods {
		s.headers = append(s.headers, "per "+p.Name)
	}
	levels := []float64{99.9, 99.99, 99.999}
	if !containsFloat(levels, target) {
		levels = append(levels, target)
	}
	for _, a := range levels {
		row := []string{fmt.Sprintf("%g%%", a)}
		if a == target {
			row[0] += " (target)"
		}
		for _, p := range capacity.Periods {
			row = append(row, capacity.FormatDowntime(capacity.Downtime(a, p.Span)))
		}
		s.rows = append(s.rows, row)
	}
	return s
}

func compositeSection(components []capacity.Component, target float64) section {
	s := section{title: "Composite availability", headers: []string{"tier", "one instance", "replicas", "tier availability", "tier downtime/yr"}}
	for _, c := range components {
		s.rows = append(s.rows, []string{c.Name, fmt.Sprintf("%g%%", c.Availability), fmt.Sprint(c.Replicas),
			pct(c.Parallel()), capacity.FormatDowntime(capacity.Downtime(c.Parallel(), capacity.Year))})
	}
	single, redundant := capacity.Series(components, false), capacity.Series(components, true)
	s.rows = append(s.rows,
		[]string{"all in series, one instance each", "", "", pct(single), capacity.FormatDowntime(capacity.Downtime(single, capacity.Year))},
		[]string{"all in series, with replicas", "", "", pct(redundant), capacity.FormatDowntime(capacity.Downtime(redundant, capacity.Year))},
	)
	verdict := "meets"
	if redundant < target {
		verdict = "misses"
	}
	s.notes = append(s.notes,
		"A tier is down only when all its replicas are: 1 − (1 − a)^n. Tiers in series multiply: every one must be up.",
		fmt.Sprintf("Without redundancy the system reaches %s, below every tier alone; with it, %s, which %s the %g%% target.",
			pct(single), pct(redundant), verdict, target))
	return s
}

func deploymentSection(o planOptions, est capacity.Estimate, node capacity.NodeCapacity, z capacity.Sizing) section {
	in := o.in
	n := capacity.FormatCount
	short := capacity.FormatShort
	b := o.units.FormatBytes
	peakR, peakW := est.ReadQPS*in.PeakFactor, est.WriteQPS*in.PeakFactor
	var variants []string
	for _, t := range in.ThumbSizes {
		variants = append(variants, b(t))
	}
	perUpload := b(in.PhotoSize)
	if len(variants) > 0 {
		perUpload = "(" + perUpload + " + " + strings.Join(variants, " + ") + ")"
	}
	s := section{
		title:   "Deployment sized from measured capacity",
		headers: []string{"quantity", "formula", "value"},
		rows: [][]string{
			{"api nodes", fmt.Sprintf("⌈peak reads / %s + peak writes / %s⌉ = ⌈%s / %s + %s / %s⌉",
				n(node.APIReadQPSPerNode), n(node.APIWriteQPSPerNode), n(peakR), n(node.APIReadQPSPerNode), n(peakW), n(node.APIWriteQPSPerNode)),
				fmt.Sprintf("%s (%s with N+1)", n(z.APINodes), n(z.APINodesN1))},
			{"worker nodes", fmt.Sprintf("⌈peak uploads/s / uploads/s per worker⌉ = ⌈%s / %s⌉", n(est.PeakUploadsS), n(node.UploadsPerSecPerWorker)), n(z.WorkerNodes)},
			{"db shards (writes)", fmt.Sprintf("⌈peak write QPS / per shard⌉ = ⌈%s / %s⌉", n(peakW), n(node.DBWriteQPSPerShard)), n(z.ShardsByWrites)},
			{"db shards (storage)", fmt.Sprintf("⌈posts kept × bytes/post / bytes per shard⌉ = ⌈%s × %s / %s⌉",
				short(in.UploadsPerDay*in.RetentionDays), b(node.MetadataBytesPerPost), b(node.DBStorageBytesPerShard)), n(z.ShardsByStorage)},
			{"db shards", "the larger of the two", n(z.Shards)},
			{"timeline memory", fmt.Sprintf("DAU × entries × bytes/entry = %s × %s × %s", short(in.DAU), n(o.sizing.TimelineEntries), b(node.TimelineEntryBytes)), b(z.TimelineMemory)},
			{"blob storage/yr", fmt.Sprintf("uploads/day × %s × %s d × %s copies", perUpload, n(in.RetentionDays), n(in.Replication)), b(z.BlobStoragePerYr)},
			{"egress, no CDN", "QPS × response size", b(z.EgressNoCDN) + "/s"},
			{"origin egress, CDN", fmt.Sprintf("egress × (1 − hit ratio %g)", o.sizing.CDNHitRatio), b(z.OriginEgressWithCDN) + "/s"},
		},
		notes: []string{"Per-node capacity: " + node.Machine + "."},
	}
	if len(node.Assumed) > 0 {
		s.notes = append(s.notes, "Assumed, not measured: "+strings.Join(node.Assumed, "; ")+".")
	}
	return s
}

// pct shows a percentage with enough decimals to tell its nines apart:
// 99.77%, 99.9899%, 99.999999988%.
func pct(a float64) string {
	gap := 100 - a
	if gap < 1e-9 {
		return "~100%"
	}
	decimals := min(10, max(1, int(math.Ceil(-math.Log10(gap)))+2))
	s := strconv.FormatFloat(a, 'f', decimals, 64)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".") + "%"
}

func containsFloat(list []float64, v float64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// table writes the report as aligned plain text.
func (r report) table(w io.Writer) {
	fmt.Fprintln(w, r.title)
	for _, s := range r.sections {
		fmt.Fprintf(w, "\n%s\n", s.title)
		widths := make([]int, len(s.headers))
		for _, row := range append([][]string{s.headers}, s.rows...) {
			for i, c := range row {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
		line := func(row []string) {
			var b strings.Builder
			for i, c := range row {
				b.WriteString("  ")
				b.WriteString(c)
				if i < len(row)-1 {
					b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
				}
			}
			fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		}
		line(s.headers)
		for _, row := range s.rows {
			line(row)
		}
		for _, note := range s.notes {
			fmt.Fprintf(w, "  · %s\n", note)
		}
	}
}

// markdown writes the report as GitHub-flavoured markdown tables.
func (r report) markdown(w io.Writer) {
	fmt.Fprintf(w, "# %s\n", r.title)
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, s := range r.sections {
		fmt.Fprintf(w, "\n## %s\n\n", s.title)
		row := func(cells []string) {
			out := make([]string, len(cells))
			for i, c := range cells {
				out[i] = esc(c)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(out, " | "))
		}
		row(s.headers)
		fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(s.headers)))
		for _, r := range s.rows {
			row(r)
		}
		if len(s.notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range s.notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
		}
	}
}

// planJSON is the machine-readable report: raw numbers in bytes, seconds
// and percent.
func planJSON(o planOptions, est capacity.Estimate, node capacity.NodeCapacity, z capacity.Sizing) any {
	type nine struct {
		Availability float64            `json:"availability"`
		DowntimeS    map[string]float64 `json:"downtime_seconds"`
	}
	var nines []nine
	for _, a := range []float64{99.9, 99.99, 99.999} {
		d := map[string]float64{}
		for _, p := range capacity.Periods {
			d[p.Name] = capacity.Downtime(a, p.Span).Seconds()
		}
		nines = append(nines, nine{a, d})
	}
	return map[string]any{
		"units":    o.units.String(),
		"inputs":   o.in,
		"estimate": est,
		"availability": map[string]any{
			"target":               o.in.Availability,
			"nines":                nines,
			"components":           o.components,
			"series_single":        capacity.Series(o.components, false),
			"series_with_replicas": capacity.Series(o.components, true),
		},
		"capacity": node,
		"sizing":   z,
	}
}
