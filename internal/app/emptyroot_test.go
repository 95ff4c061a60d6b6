package app_test

import (
	"debug/elf"
	"fmt"
	"image/color"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/cluster"
	"github.com/photofeed/photofeed/internal/testenv"
)

// TestStaticBinaryServesFromAnEmptyRoot makes the container image's
// claim (deploy/Dockerfile) without Docker: photofeed built as the image
// builds it (CGO_ENABLED=0, -trimpath), alone in a root that holds only
// the binary, the CA certificates and a writable data directory — no
// libc, no /etc/passwd, no /tmp, no /proc — running as the image's
// unprivileged user, serves the v1 contract, each answer checked against
// the OpenAPI document.
//
// chroot needs root. The build reuses the test build's cache only when
// the tests were built the same way, so the test runs where they were
// (CGO_ENABLED=0 go test, as CI runs it) and says how otherwise.
func TestStaticBinaryServesFromAnEmptyRoot(t *testing.T) {
	sameInEveryMode(t)
	if testing.Short() {
		t.Skip("builds photofeed: not in -short mode")
	}
	if static, err := isStatic(os.Args[0]); err != nil || !static {
		testenv.Missing(t, "a static build (CGO_ENABLED=0 go test ./internal/app, as CI runs it)")
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, for chroot")
	}
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		testenv.Missing(t, "chroot (coreutils)")
	}
	const caFile = "/etc/ssl/certs/ca-certificates.crt"
	ca, err := os.ReadFile(caFile)
	if err != nil {
		testenv.Missing(t, "the CA certificates (apt-get install ca-certificates)")
	}

	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "photofeed")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/photofeed/photofeed/cmd/photofeed")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if static, err := isStatic(bin); err != nil || !static {
		t.Fatalf("the image's build is not static: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(caFile)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, caFile), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	const nonroot = 65532 // the image's USER
	if err := os.Chown(data, nonroot, nonroot); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Logf("the root holds only: %s (and %s)", strings.Join(names, ", "), caFile)

	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	node := exec.Command(chroot, fmt.Sprintf("--userspec=%d:%d", nonroot, nonroot), root,
		"/photofeed", "serve", "--addr", addr, "--data-dir", "/data", "--metrics-addr", "off",
		"--argon2-memory", "64", "--argon2-time", "1", "--rate-limits", "off")
	node.Env = []string{} // nothing from this machine
	log := &testenv.LogBuffer{}
	node.Stdout, node.Stderr = log, log
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Process.Kill(); node.Wait() })
	s := &server{URL: "http://" + addr}
	testenv.Eventually(t, "photofeed serving in the empty root", 30*time.Second, func() bool {
		r, err := http.Get(s.URL + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil && r.StatusCode == 200
	})

	c := s.client(t)
	if r := c.jsonReq("POST", "/v1/accounts", `{"username":"rootless","password":"password-long"}`); r.StatusCode != 201 {
		t.Fatalf("sign-up: %d %s\n%s", r.StatusCode, r.Body, log)
	}
	var sess struct{ Token string }
	c.jsonReq("POST", "/v1/sessions", `{"username":"rootless","password":"password-long"}`).json(t, &sess)
	c.token = sess.Token
	r := c.upload("/v1/posts", app.SampleJPEG(t, 640, 480, color.RGBA{200, 80, 40, 255}), "from an empty root")
	if r.StatusCode != 201 {
		t.Fatalf("upload: %d %s\n%s", r.StatusCode, r.Body, log)
	}
	var p post
	r.json(t, &p)
	testenv.Eventually(t, "the photo ready and in the feed", 30*time.Second, func() bool {
		var page struct {
			Items []struct{ ID, Status string }
		}
		c.do("GET", "/v1/feed?limit=20", nil).json(t, &page)
		return len(page.Items) == 1 && page.Items[0].ID == p.ID && page.Items[0].Status == "ready"
	})
	if r := c.do("PUT", "/v1/posts/"+p.ID+"/like", nil); r.StatusCode != 204 {
		t.Fatalf("like: %d %s", r.StatusCode, r.Body)
	}
	for _, path := range []string{"/v1/posts/" + p.ID, "/v1/users/rootless", "/v1/users/rootless/posts", "/v1/search?q=empty", "/openapi.json", "/"} {
		if r := c.do("GET", path, nil); r.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", path, r.StatusCode, r.Body)
		}
	}
	if t.Failed() {
		t.Logf("the node's log:\n%s", log)
	}
}

// isStatic says whether the ELF file at path needs no program
// interpreter (no dynamic loader, no libc).
func isStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}
