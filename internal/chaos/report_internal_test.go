package chaos

import (
	"slices"
	"testing"
	"time"
)

func TestQuantileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}, {1, time.Second}} {
		if got := quantile(d, tc.q); got != tc.want {
			t.Errorf("quantile(%v) = %s, want %s", tc.q, got, tc.want)
		}
	}
	if got := quantile(d[:1], 0.999); got != time.Millisecond {
		t.Errorf("one sample: %s", got)
	}
}

func TestScheduleIsTheSeeds(t *testing.T) {
	kinds := []Kind{{Name: "a", Targets: []string{"1", "2", "3"}}, {Name: "b"}, {Name: "c", Targets: []string{"x", "y"}}}
	cfg := Config{Duration: 100 * time.Second, Seed: 7, Faults: kinds}
	one, two := schedule(cfg), schedule(cfg)
	key := func(p *plan) []string {
		var out []string
		for _, f := range p.faults {
			out = append(out, f.kind.Name+"/"+f.target+"/"+f.at.String())
		}
		return out
	}
	if !slices.Equal(key(one), key(two)) {
		t.Errorf("the same seed gave %v and %v", key(one), key(two))
	}
	for i, f := range one.faults {
		if f.at < 10*time.Second || f.at > 80*time.Second {
			t.Errorf("fault %d at %s, outside the run's middle", i, f.at)
		}
		if i > 0 && f.at <= one.faults[i-1].at {
			t.Errorf("fault %d at %s, not after the one before (%s)", i, f.at, one.faults[i-1].at)
		}
	}
	cfg.Seed = 8
	if slices.Equal(key(one), key(schedule(cfg))) {
		t.Errorf("seeds 7 and 8 gave the same schedule %v", key(one))
	}
}

func TestReportChargesErrorsToTheLatestFault(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	w := &workload{cfg: Config{Target: 0.99, Duration: time.Minute}}
	w.outcomes = []outcome{
		{op: "feed", start: at(1), took: time.Millisecond, ok: true, attempts: []attempt{{at: at(1)}}},
		// Before any fault: charged to none.
		{op: "feed", start: at(2), ok: true, attempts: []attempt{{at: at(2), kind: "http 502"}, {at: at(2.1)}}},
		{op: "like", start: at(11), ok: true, attempts: []attempt{{at: at(11), kind: "connection refused"}, {at: at(11.5)}}},
		{op: "like", start: at(12), took: 3 * time.Second, attempts: []attempt{{at: at(12), kind: "http 503"}, {at: at(15), kind: "http 503"}}},
		{op: "feed", start: at(21), ok: true, attempts: []attempt{{at: at(21)}}},
	}
	faults := []FaultResult{{Kind: "kill-api", Injected: at(10)}, {Kind: "redis-stop", Injected: at(20)}}
	r := w.report(t0, faults)
	if r.Operations != 5 || r.Requests != 8 || r.FailedOperations != 1 {
		t.Errorf("operations %d requests %d failed %d, want 5 8 1", r.Operations, r.Requests, r.FailedOperations)
	}
	if r.SuccessRatio != 0.8 || r.AttemptSuccessRatio != 4.0/8 {
		t.Errorf("ratios %v %v", r.SuccessRatio, r.AttemptSuccessRatio)
	}
	if r.ErrorsByKind["http 503"] != 2 || r.ErrorsByKind["http 502"] != 1 || r.ErrorsByKind["connection refused"] != 1 {
		t.Errorf("errors by kind %v", r.ErrorsByKind)
	}
	k := r.Faults[0]
	if k.FailedAttempts != 3 || k.FailedOperations != 1 || k.AbsorbedMS != 4000 || k.RecoveredMS != 5000 {
		t.Errorf("kill-api: %+v", k)
	}
	if f := r.Faults[1]; f.FailedAttempts != 0 || f.FirstError != nil || f.AbsorbedMS != 0 {
		t.Errorf("redis-stop, absorbed with no error: %+v", f)
	}
	if r.ErrorBudget < 0.049 || r.ErrorBudget > 0.051 || r.ErrorBudgetSpent < 19.9 || r.ErrorBudgetSpent > 20.1 {
		t.Errorf("budget %v spent %v, want 0.05 and 20", r.ErrorBudget, r.ErrorBudgetSpent)
	}
	r.judge()
	if r.Pass || len(r.Verdict) != 1 {
		t.Errorf("pass %v verdict %v: 80%% against 99%% must fail", r.Pass, r.Verdict)
	}
}
