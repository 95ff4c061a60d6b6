package httplimit_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/photofeed/photofeed/internal/httplimit"
)

// The example file in docs is the defaults, written out: it must load and
// change nothing.
func TestExampleFileIsTheDefaults(t *testing.T) {
	cfg, err := httplimit.LoadConfig(filepath.Join("..", "..", "docs", "rate-limits.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	def := httplimit.DefaultConfig()
	if len(cfg.Policies) != len(def.Policies) {
		t.Fatalf("%d policies, want %d", len(cfg.Policies), len(def.Policies))
	}
	for name, l := range def.Policies {
		if cfg.Policies[name] != l {
			t.Errorf("%s: example %+v, default %+v", name, cfg.Policies[name], l)
		}
	}
	if _, err := httplimit.LoadConfig(filepath.Join(t.TempDir(), "missing.json")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
