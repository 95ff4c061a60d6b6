package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NATSServer is a throwaway nats-server process: the binary an operator's
// distribution ships (Debian 12's is 2.9.10), not the library the other
// NATS tests embed, so the tests meet the version operators run.
type NATSServer struct {
	URL     string
	Version string // as `nats-server --version` prints it, e.g. "v2.9.10"
}

// StartNATSBinary starts the nats-server found by PHOTOFEED_NATS_SERVER
// or on PATH (Debian puts it in /usr/sbin) with JetStream on a free
// loopback port, killed when the test ends; or skips.
func StartNATSBinary(t testing.TB) *NATSServer {
	t.Helper()
	bin := os.Getenv("PHOTOFEED_NATS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("nats-server"); err != nil {
			if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
				Missing(t, "the nats-server binary (apt-get install nats-server)")
				return nil
			}
			bin = "/usr/sbin/nats-server"
		}
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	version := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nats-server:"))
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", dir,
		"-l", filepath.Join(dir, "nats-server.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "nats-server.log"))
			t.Fatalf("%s exited: %v\n%s", bin, err, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s after 10s", bin, addr)
		}
	}
	return &NATSServer{URL: "nats://" + addr, Version: version}
}
