package app_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
)

// Whatever the umask, the data directory is the owner's alone: it is
// created 0700, and the database (with its -wal and -shm files, on
// SQLite), the media, the secret and everything else in it are not open
// to other users. The umask is process-wide, so this test must not run in
// parallel with others.
func TestDataFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	s := start(t, "--data-dir", dir)
	c := s.client(t)
	c.signup("alice")
	c.post("a photo")
	checkPrivate(t, dir, s.DB == "")
}

// An install made before the data directory was private (0755
// directories, 0644 files: what a umask of 022 gave) is made private when
// it starts, media files included.
func TestExistingDataDirIsMadePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	sqlite := os.Getenv("PHOTOFEED_TEST_DB") == ""
	files := map[string]string{
		"secret.key":                strings.Repeat("k", 32),
		"node-id":                   "0123456789abcdef",
		"media/ab/abcdef.jpg":       "an old photo",
		"media/ab/abcdef_thumb.jpg": "its thumbnail",
		"media/cd/cdef01.jpg":       "another",
		"spool/.keep":               "",
		"nats/.keep":                "",
	}
	if sqlite {
		files["photofeed.db"] = "" // an empty file is a new database to SQLite
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Whatever the umask of this test, the old modes are there.
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	s := start(t, "--data-dir", dir)
	c := s.client(t)
	c.signup("alice")
	c.post("a photo")
	checkPrivate(t, dir, sqlite)
}

// checkPrivate walks a data directory: the directory and media/, spool/
// and nats/ 0700, the secret, the node id and (on SQLite) the database
// files 0600, every media directory 0700 and file 0600, and nothing open
// to other users.
func checkPrivate(t *testing.T, dir string, sqlite bool) {
	t.Helper()
	want := map[string]fs.FileMode{
		".":          0o700 | fs.ModeDir,
		"secret.key": 0o600,
		"node-id":    0o600,
		"media":      0o700 | fs.ModeDir,
		"spool":      0o700 | fs.ModeDir,
		"nats":       0o700 | fs.ModeDir,
	}
	if sqlite {
		want["photofeed.db"] = 0o600
		want["photofeed.db-wal"] = 0o600
		want["photofeed.db-shm"] = 0o600
	}
	media := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		mode := info.Mode() & (fs.ModePerm | fs.ModeDir)
		if w, ok := want[rel]; ok && mode != w {
			t.Errorf("%s: %s, want %s", rel, mode, w)
		}
		delete(want, rel)
		if strings.HasPrefix(rel, "media"+string(filepath.Separator)) {
			if d.IsDir() && mode != 0o700|fs.ModeDir || !d.IsDir() && mode != 0o600 {
				t.Errorf("media %s: %s, want 0700 directories and 0600 files", rel, mode)
			}
			if !d.IsDir() {
				media++
			}
		}
		if mode&0o007 != 0 {
			t.Errorf("%s is open to other users: %s", rel, mode)
		}
		if mode&0o070 != 0 {
			t.Logf("%s: %s (open to the group, behind the 0700 data directory)", rel, mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) > 0 || media == 0 {
		t.Errorf("not found: %v; %d media files", want, media)
	}
}

// A secret.key that is there but too short (cut off, or edited) stops the
// program with one line, instead of being replaced by a new secret, which
// would log everyone out and make every cursor invalid.
func TestShortSecretKeyStops(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "secret.key")
	if err := os.WriteFile(key, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a program that starts anyway is stopped
	defer cancel()
	err := app.Run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--metrics-addr", "off"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "secret.key") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Run: %v, want a one-line error naming secret.key", err)
	}
	if b, _ := os.ReadFile(key); string(b) != "too short" {
		t.Fatalf("secret.key was replaced")
	}
}

// Every response says nosniff: API, UI page, error, media and metrics.
func TestNosniffOnEveryResponse(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.signup("alice")
	p := c.post("a photo")
	for name, r := range map[string]response{
		"API":     c.do("GET", "/v1/me", nil),
		"UI":      c.do("GET", "/explore", nil),
		"error":   c.do("GET", "/v1/users/nobody", nil),
		"UI 404":  c.do("GET", "/no/such/page", nil),
		"media":   c.do("GET", strings.TrimPrefix(p.Images.Original, c.base), nil),
		"metrics": s.metrics(t),
	} {
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s (%d): X-Content-Type-Options %q", name, r.StatusCode, got)
		}
	}
}
