package loadtest

import (
	"context"
	"testing"
	"time"
)

// fakeMeasure answers within 5 ms up to limit requests/s and 50 ms past
// it.
func fakeMeasure(limit float64, tried *[]float64) Measure {
	return func(_ context.Context, rate float64) (*Result, error) {
		*tried = append(*tried, rate)
		lat := 5 * time.Millisecond
		if rate > limit {
			lat = 50 * time.Millisecond
		}
		rec := newRecorder()
		for range 100 {
			rec.record(OpFeed, 204, lat)
		}
		res := newResult(rec, time.Second)
		res.Throughput = rate
		return res, nil
	}
}

func TestFindMax(t *testing.T) {
	for _, tc := range []struct {
		name          string
		limit         float64
		maxSteps      int
		lowest, above float64 // want lowest ≤ MaxRate < above
	}{
		{"doubles then bisects", 730, 16, 0.95 * 730, 730.1},
		{"bounded steps", 730, 3, 400, 400.1},
		{"below the start", 30, 16, 0.95 * 30, 30.1},
		{"nothing holds", 0, 16, 0, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tried []float64
			s, best, err := FindMax(t.Context(), 100, 25*time.Millisecond, tc.maxSteps, fakeMeasure(tc.limit, &tried))
			if err != nil {
				t.Fatal(err)
			}
			if s.MaxRate < tc.lowest || s.MaxRate >= tc.above {
				t.Errorf("max rate %g, want in [%g, %g); tried %v", s.MaxRate, tc.lowest, tc.above, tried)
			}
			if len(tried) > tc.maxSteps || len(s.Steps) != len(tried) {
				t.Errorf("%d rates tried, %d steps, at most %d allowed", len(tried), len(s.Steps), tc.maxSteps)
			}
			if (best == nil) != (s.MaxRate == 0) {
				t.Errorf("best result %v with max rate %g", best != nil, s.MaxRate)
			}
			for _, st := range s.Steps {
				if st.Held != (st.Rate <= tc.limit) {
					t.Errorf("step %+v: held wrong for limit %g", st, tc.limit)
				}
			}
		})
	}
}
