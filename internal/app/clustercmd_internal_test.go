package app

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestRefusedRole(t *testing.T) {
	for _, tc := range []struct {
		output string
		want   bool
	}{
		{"photofeed: --roles must be api, worker, or api,worker\n", true},
		{"level=INFO msg=x\nphotofeed: unknown role \"gateway\"\n", true},
		// A build without the role lacks its flag, which is read first.
		{"  -roles string\n    \tapi, worker\nphotofeed: flag provided but not defined: -upstreams\n", true},
		// Usage text names --roles, but the error is another one.
		{"  -roles string\n    \tapi, worker\nphotofeed: flag provided but not defined: -lb-policy\n", false},
		{"photofeed: --upstreams: parse \"x\": invalid URL\n", false},
	} {
		if got := refusedRole(tc.output); got != tc.want {
			t.Errorf("refusedRole(%q) = %v, want %v", tc.output, got, tc.want)
		}
	}
}

func TestParseClusterConfig(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr bool
		check   func(clusterConfig) bool
	}{
		{args: nil, check: func(c clusterConfig) bool {
			return c.API == 3 && c.Workers == 2 && !c.NoGateway && c.LogicalShards == 1024
		}},
		{args: []string{"--api", "2", "--workers", "1", "--", "--cache-ttl", "0"},
			check: func(c clusterConfig) bool {
				return c.API == 2 && len(c.NodeArgs) == 2 && c.NodeArgs[0] == "--cache-ttl"
			}},
		{args: []string{"stray"}, wantErr: true},
		{args: []string{"--api", "0"}, wantErr: true},
		{args: []string{"--workers", "0"}, wantErr: true},
		{args: []string{"--logical-shards", "0"}, wantErr: true},
	} {
		c, err := parseClusterConfig(tc.args, io.Discard)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && !tc.check(c) {
			t.Errorf("%q: got %+v", tc.args, c)
		}
	}
}

func TestMediaLinkedSilencesTheUnsharedMediaWarning(t *testing.T) {
	shared, linked, own := t.TempDir(), t.TempDir(), t.TempDir()
	if err := shareMedia(linked, shared); err != nil {
		t.Fatal(err)
	}
	if err := shareMedia(linked, shared); err != nil { // a second run finds the link made
		t.Fatalf("second shareMedia: %v", err)
	}
	if err := os.Mkdir(filepath.Join(own, "media"), 0o700); err != nil {
		t.Fatal(err)
	}
	if !mediaLinked(linked) || mediaLinked(own) {
		t.Errorf("mediaLinked: linked %v, own %v", mediaLinked(linked), mediaLinked(own))
	}
}
