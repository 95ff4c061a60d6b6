package app

import (
	"bytes"
	"errors"
	"flag"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/photofeed/photofeed/internal/testenv"
)

// composeFile is the part of deploy/compose.yaml the test reads.
type composeFile struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

// serveFlags are the names of photofeed serve's flags, from its usage.
func serveFlags(t *testing.T) []string {
	t.Helper()
	var usage bytes.Buffer
	if _, err := parseServeConfig([]string{"-h"}, func(string) string { return "" }, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve -h: %v", err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		names = append(names, m[1])
	}
	if len(names) < 20 {
		t.Fatalf("read %d flags from serve's usage:\n%s", len(names), usage.String())
	}
	return names
}

// Every photofeed service in deploy/compose.yaml is a configuration the
// binary accepts: its command line and its PHOTOFEED_* environment parse
// and validate as `photofeed serve` would take them, every variable names
// a flag (a misspelt one would be ignored), and the roles add up to the
// topology it says: a gateway, two api nodes, a worker.
func TestComposeServicesAreValidConfigurations(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	flags := serveFlags(t)
	interpolated := regexp.MustCompile(`\$\{[^}]*\}`)
	roles := map[string]int{}
	for name, svc := range cf.Services {
		if svc.Build == nil {
			continue // an engine's official image
		}
		if len(svc.Command) == 0 || svc.Command[0] != "serve" {
			t.Errorf("%s: command %q, want photofeed serve", name, svc.Command)
			continue
		}
		env := map[string]string{}
		for k, v := range svc.Environment {
			// ${VAR:?...}: what the operator supplies; a valid stand-in here.
			env[k] = interpolated.ReplaceAllString(v, strings.Repeat("s", 64))
			if f, ok := strings.CutPrefix(k, "PHOTOFEED_"); ok && !slices.Contains(flags, strings.ReplaceAll(strings.ToLower(f), "_", "-")) {
				t.Errorf("%s: %s names no flag of photofeed serve", name, k)
			}
		}
		cfg, err := parseServeConfig(svc.Command[1:], func(k string) string { return env[k] }, &bytes.Buffer{})
		if err != nil {
			t.Errorf("%s: photofeed %s: %v", name, strings.Join(svc.Command, " "), err)
			continue
		}
		roles[cfg.Roles]++
	}
	if want := map[string]int{"gateway": 1, "api": 2, "worker": 1}; !maps.Equal(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}
}

// deploy/photofeed.service passes systemd's own check, warnings included
// (an unknown or misspelt directive is only a warning to systemd, and
// would leave the service less sandboxed than it reads).
func TestSystemdUnitVerifies(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "systemd-analyze (apt-get install systemd)")
	}
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "photofeed.service"))
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart's binary exists: this test's own stands in.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "photofeed.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/photofeed"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
