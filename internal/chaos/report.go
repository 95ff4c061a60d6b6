package chaos

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run found; it is written as JSON by --report.
type Report struct {
	Seed     int64   `json:"seed"`
	Duration string  `json:"duration"`
	Target   float64 `json:"target"`
	// Operations are what clients asked for; each took one or more
	// requests (attempts), retried as a client would. SuccessRatio is of
	// operations: what a user saw. AttemptSuccessRatio is of single
	// requests: what the deployment answered before retries hid it.
	Operations          int            `json:"operations"`
	Requests            int            `json:"requests"`
	SuccessRatio        float64        `json:"success_ratio"`
	AttemptSuccessRatio float64        `json:"attempt_success_ratio"`
	FailedOperations    int            `json:"failed_operations"`
	ErrorsByKind        map[string]int `json:"errors_by_kind"` // of failed requests
	// ErrorExamples is the first failure of each kind, as it was told.
	ErrorExamples map[string]string `json:"error_examples"`
	PerOperation  []OpStats         `json:"per_operation"`
	// ErrorBudget is the failures the target allows for this run's
	// operations, and the share of it the run spent (over 1: the target
	// was missed).
	ErrorBudget      float64       `json:"error_budget_operations"`
	ErrorBudgetSpent float64       `json:"error_budget_spent"`
	Faults           []FaultResult `json:"faults"`
	Audit            *AuditResult  `json:"audit"`
	Pass             bool          `json:"pass"`
	Verdict          []string      `json:"verdict"` // why it did not pass, one line each
}

// OpStats is one operation's count and latency (the whole operation,
// retries included, as the client waited for it).
type OpStats struct {
	Op     string  `json:"op"`
	Count  int     `json:"count"`
	Failed int     `json:"failed"`
	P50MS  float64 `json:"p50_ms"`
	P99MS  float64 `json:"p99_ms"`
	P999MS float64 `json:"p999_ms"`
}

func (w *workload) report(start time.Time, faults []FaultResult) *Report {
	w.mu.Lock()
	outcomes := slices.Clone(w.outcomes)
	w.mu.Unlock()
	r := &Report{Seed: w.cfg.Seed, Duration: w.cfg.Duration.String(), Target: w.cfg.Target,
		ErrorsByKind: map[string]int{}, ErrorExamples: map[string]string{}, Faults: faults}
	byOp := map[string][]outcome{}
	okAttempts := 0
	for _, o := range outcomes {
		r.Operations++
		r.Requests += len(o.attempts)
		if !o.ok {
			r.FailedOperations++
		}
		for _, a := range o.attempts {
			if a.kind == "" {
				okAttempts++
				continue
			}
			r.ErrorsByKind[a.kind]++
			if _, ok := r.ErrorExamples[a.kind]; !ok {
				r.ErrorExamples[a.kind] = a.detail
			}
			if i := faultAt(faults, a.at); i >= 0 {
				f := &faults[i]
				f.FailedAttempts++
				if f.FirstError == nil || a.at.Before(*f.FirstError) {
					t := a.at
					f.FirstError = &t
				}
				if f.LastError == nil || a.at.After(*f.LastError) {
					t := a.at
					f.LastError = &t
				}
			}
		}
		if i := faultAt(faults, o.start.Add(o.took)); !o.ok && i >= 0 {
			faults[i].FailedOperations++
		}
		byOp[o.op] = append(byOp[o.op], o)
	}
	for i := range faults {
		f := &faults[i]
		if f.FirstError != nil {
			f.AbsorbedMS = f.LastError.Sub(*f.FirstError).Milliseconds()
			f.RecoveredMS = f.LastError.Sub(f.Injected).Milliseconds()
		}
	}
	r.SuccessRatio, r.AttemptSuccessRatio = 1, 1
	if r.Operations > 0 {
		r.SuccessRatio = float64(r.Operations-r.FailedOperations) / float64(r.Operations)
	}
	if r.Requests > 0 {
		r.AttemptSuccessRatio = float64(okAttempts) / float64(r.Requests)
	}
	r.ErrorBudget = (1 - w.cfg.Target) * float64(r.Operations)
	if r.ErrorBudget > 0 {
		r.ErrorBudgetSpent = float64(r.FailedOperations) / r.ErrorBudget
	}
	for _, m := range mix {
		list := byOp[m.op]
		if len(list) == 0 {
			continue
		}
		s := OpStats{Op: m.op, Count: len(list)}
		took := make([]time.Duration, 0, len(list))
		for _, o := range list {
			if !o.ok {
				s.Failed++
			}
			took = append(took, o.took)
		}
		slices.Sort(took)
		s.P50MS, s.P99MS, s.P999MS = ms(quantile(took, 0.5)), ms(quantile(took, 0.99)), ms(quantile(took, 0.999))
		r.PerOperation = append(r.PerOperation, s)
	}
	return r
}

// faultAt is the index of the latest fault injected at or before t, or
// -1 before the first: each error is charged to the fault that last
// struck.
func faultAt(faults []FaultResult, t time.Time) int {
	at := -1
	for i, f := range faults {
		if !f.Injected.After(t) {
			at = i
		}
	}
	return at
}

// quantile of sorted durations, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// judge sets Pass and the verdict: the success ratio against the target,
// every fault made and undone, and a clean audit.
func (r *Report) judge() {
	if r.SuccessRatio < r.Target {
		r.Verdict = append(r.Verdict, fmt.Sprintf("success ratio %.5f below the target %.5f (%d of %d operations failed; the budget allowed %.2f)",
			r.SuccessRatio, r.Target, r.FailedOperations, r.Operations, r.ErrorBudget))
	}
	for _, f := range r.Faults {
		if f.InjectError != "" {
			r.Verdict = append(r.Verdict, fmt.Sprintf("fault %s %s not injected: %s", f.Kind, f.Target, f.InjectError))
		}
		if f.RestoreError != "" {
			r.Verdict = append(r.Verdict, fmt.Sprintf("fault %s %s not undone: %s", f.Kind, f.Target, f.RestoreError))
		}
	}
	if r.Audit != nil {
		r.Verdict = append(r.Verdict, r.Audit.problems()...)
	}
	r.Pass = len(r.Verdict) == 0
}

// Print writes the report for a terminal.
func (r *Report) Print(out io.Writer) {
	fmt.Fprintf(out, "\nchaos run: seed %d, %s, target %.4f%%\n", r.Seed, r.Duration, 100*r.Target)
	fmt.Fprintf(out, "operations %d (requests %d)  success %.4f%% of operations, %.4f%% of requests\n",
		r.Operations, r.Requests, 100*r.SuccessRatio, 100*r.AttemptSuccessRatio)
	fmt.Fprintf(out, "error budget: %.2f failed operations allowed, %d failed: %.0f%% spent\n",
		r.ErrorBudget, r.FailedOperations, 100*r.ErrorBudgetSpent)
	if len(r.ErrorsByKind) > 0 {
		kinds := make([]string, 0, len(r.ErrorsByKind))
		for k := range r.ErrorsByKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		var parts []string
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.ErrorsByKind[k]))
		}
		fmt.Fprintf(out, "failed requests by kind: %s\n", strings.Join(parts, ", "))
		for _, k := range kinds {
			fmt.Fprintf(out, "  first %s: %s\n", k, r.ErrorExamples[k])
		}
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nOP\tCOUNT\tFAILED\tP50 ms\tP99 ms\tP99.9 ms\t")
	for _, s := range r.PerOperation {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t\n", s.Op, s.Count, s.Failed, s.P50MS, s.P99MS, s.P999MS)
	}
	tw.Flush()
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nFAULT\tTARGET\tHELD\tFAILED REQ\tFAILED OPS\tABSORBED\tRECOVERED\tNOTE")
	for _, f := range r.Faults {
		note := f.InjectError + f.RestoreError
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", f.Kind, f.Target, f.Restored.Sub(f.Injected).Round(time.Millisecond),
			f.FailedAttempts, f.FailedOperations, time.Duration(f.AbsorbedMS)*time.Millisecond, time.Duration(f.RecoveredMS)*time.Millisecond, note)
	}
	tw.Flush()
	if r.Audit != nil {
		r.Audit.print(out)
	}
	if r.Pass {
		fmt.Fprintln(out, "\nPASS")
		return
	}
	fmt.Fprintln(out, "\nFAIL")
	for _, v := range r.Verdict {
		fmt.Fprintln(out, "  -", v)
	}
}
