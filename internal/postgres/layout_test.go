package postgres_test

import (
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A new deployment's shards are laid out with a line in the log before
// and after, saying how many, where, and how long it took; a restart lays
// out nothing and says nothing of it. PHOTOFEED_LAYOUT_SHARDS=1024 times
// the default deployment (docs/benchmarks.md).
func TestLayoutIsAnnounced(t *testing.T) {
	shards := 64
	if v := os.Getenv("PHOTOFEED_LAYOUT_SHARDS"); v != "" {
		var err error
		if shards, err = strconv.Atoi(v); err != nil {
			t.Fatalf("PHOTOFEED_LAYOUT_SHARDS=%q: %v", v, err)
		}
	}
	dbURL := testenv.PostgresURL(t)
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	open := func() time.Duration {
		start := time.Now()
		db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: dbURL, Shards: shards, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		db.Close()
		return took
	}
	first := open()
	t.Logf("first start, %d logical shards laid out: %.1f s", shards, first.Seconds())
	u, _ := url.Parse(dbURL)
	where := "database main (" + u.Host + u.Path + ")"
	for _, want := range []string{
		"laying out " + strconv.Itoa(shards) + " logical shards on " + where + "…",
		"laid out " + strconv.Itoa(shards) + " logical shards on " + where + " in ",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
	logs.Reset()
	second := open()
	t.Logf("second start: %.1f s", second.Seconds())
	if strings.Contains(logs.String(), "logical shards") {
		t.Errorf("a restart announced a layout:\n%s", logs.String())
	}
}
