package chaos

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A fault that holds past its slot pushes the next one back by the
// quiet gap, and one pushed past the faults' part of the run is not
// injected, and says so.
func TestFaultsKeepAQuietGap(t *testing.T) {
	var injected []string
	kind := func(name string) Kind {
		return Kind{Name: name, Hold: 1500 * time.Millisecond,
			Inject:  func(context.Context, string) error { injected = append(injected, name); return nil },
			Restore: func(context.Context, string) error { return nil }}
	}
	cfg := Config{Duration: 4 * time.Second, Seed: 1, Faults: []Kind{kind("a"), kind("b"), kind("c")}}
	p := schedule(cfg)
	out := p.run(t.Context(), time.Now(), &liveStats{})
	if len(out) != 3 {
		t.Fatalf("%d results, want 3", len(out))
	}
	if len(injected) != 2 {
		t.Errorf("injected %v, want two: the third has no time left", injected)
	}
	if gap := out[1].Injected.Sub(out[0].Restored); gap < p.gap {
		t.Errorf("the second fault started %s after the first ended, want at least %s", gap, p.gap)
	}
	if !strings.Contains(out[2].InjectError, "no time left") {
		t.Errorf("the third fault: %+v, want it not injected for lack of time", out[2])
	}
}
