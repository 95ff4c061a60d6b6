package httplimit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	if cfg.AccountBackoff != def.AccountBackoff {
		t.Errorf("account_backoff: example %+v, default %+v", cfg.AccountBackoff, def.AccountBackoff)
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

// Fields of account_backoff left out keep their defaults; nonsense is
// refused.
func TestAccountBackoffConfig(t *testing.T) {
	dir := t.TempDir()
	load := func(body string) (httplimit.Config, error) {
		p := filepath.Join(dir, "limits.json")
		os.WriteFile(p, []byte(body), 0o600)
		return httplimit.LoadConfig(p)
	}
	cfg, err := load(`{"account_backoff": {"max": "5m"}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := httplimit.DefaultAccountBackoff
	want.Max = httplimit.Duration(5 * time.Minute)
	if cfg.AccountBackoff != want {
		t.Fatalf("%+v, want %+v", cfg.AccountBackoff, want)
	}
	for _, bad := range []string{`{"account_backoff": {"base": "2m", "max": "1m"}}`, `{"account_backoff": {"base": "soon"}}`,
		`{"account_backoff": {"free": -1}}`} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "limits.json") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
