package app

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/photofeed/photofeed/internal/postgres"
)

var databaseName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// parseShardsFile reads the --shards file: one physical database a line,
// "name url [replica-url ...]", blank lines and # comments ignored. The
// names are what the shard map records, so they must stay the same.
func parseShardsFile(r io.Reader) ([]postgres.Database, error) {
	var out []postgres.Database
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want \"name url [replica-url ...]\"", line)
		}
		if !databaseName.MatchString(f[0]) {
			return nil, fmt.Errorf("line %d: database name %q: want 1–32 of a-z, 0-9, _ and -, starting with a letter", line, f[0])
		}
		if seen[f[0]] {
			return nil, fmt.Errorf("line %d: database %q listed twice", line, f[0])
		}
		seen[f[0]] = true
		for _, u := range f[1:] {
			if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
				return nil, fmt.Errorf("line %d: %q is not a postgres:// URL", line, redact(u))
			}
		}
		out = append(out, postgres.Database{Name: f[0], URL: f[1], Replicas: f[2:]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no databases listed")
	}
	return out, nil
}
