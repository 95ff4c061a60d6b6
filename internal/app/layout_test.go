package app_test

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// The first start on an empty PostgreSQL database says, in the node's own
// log, that it is laying out the logical shards and when it is done.
func TestFirstStartAnnouncesShardLayout(t *testing.T) {
	sameInEveryMode(t)
	dbURL := testenv.PostgresURL(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdoutR, stdoutW := io.Pipe()
	var logs testenv.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, append(append([]string{"serve", "--addr", "127.0.0.1:0"}, app.CheapNodeArgs(t.TempDir())...),
			"--db", dbURL, "--logical-shards", "16"),
			func(string) string { return "" }, stdoutW, &logs)
		stdoutW.Close()
	}()
	if _, err := bufio.NewReader(stdoutR).ReadString('\n'); err != nil {
		t.Fatalf("no start line: %v (run: %v)", err, <-done)
	}
	go io.Copy(io.Discard, stdoutR)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{`"laying out 16 logical shards on database main (127.0.0.1:5432/`, `"laid out 16 logical shards on database main (`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, logs.String())
		}
	}
}
