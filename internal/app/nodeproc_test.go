package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/crashpoint"
)

// childArgsEnv carries the arguments of a node the test binary runs as a
// separate process, so that the test can kill it with SIGKILL.
const childArgsEnv = "PHOTOFEED_TEST_CHILD_ARGS"

// runChildNode runs app.Run and exits when the test binary was started as
// a node (see startNodeProcess); otherwise it returns at once. SIGTERM or
// the parent's end (its stdin closing) stop the node gracefully. A line
// "arm NAME N" on its stdin arms a crash point (see nodeProcess.arm).
func runChildNode() {
	raw := os.Getenv(childArgsEnv)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintln(os.Stderr, "child args:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			var name string
			var n int
			if _, err := fmt.Sscanf(lines.Text(), "arm %s %d", &name, &n); err == nil {
				crashpoint.Arm(name, n)
			}
		}
	}()
	if err := app.Run(ctx, args, func(string) string { return "" }, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "photofeed:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// nodeProcess is photofeed in its own OS process, on a data dir that
// outlives it.
type nodeProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	URL   string
	done  chan error
}

// startNodeProcess starts the test binary as a node serving dir, with
// extra flags, and waits for it to answer /healthz. Its log goes to log.
func startNodeProcess(t *testing.T, dir string, log io.Writer, extra ...string) *nodeProcess {
	t.Helper()
	args, _ := json.Marshal(append(append(append([]string{"serve", "--addr", "127.0.0.1:0"}, app.CheapNodeArgs(dir)...),
		"--log-level", "info", "--metrics-addr", "off"), extra...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args))
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProcess{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, r)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { p.kill(t) })
	select {
	case line := <-lines:
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "http://") {
				p.URL = f // the first: the API's
				break
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the node printed no start line")
	}
	if p.URL == "" {
		t.Fatalf("the node did not start (see its log)")
	}
	if err := awaitHealthy(p.URL, 15*time.Second); err != nil {
		t.Fatalf("node not healthy: %v", err)
	}
	return p
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would,
// and waits for it to be gone.
func (p *nodeProcess) kill(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t)
}

// arm makes the node kill itself with SIGKILL the nth time, from now, it
// passes the crash point name (see internal/crashpoint).
func (p *nodeProcess) arm(t *testing.T, name string, n int) {
	t.Helper()
	if _, err := fmt.Fprintf(p.stdin, "arm %s %d\n", name, n); err != nil {
		t.Fatalf("arm %s: %v", name, err)
	}
}

// exited reports whether the process has ended, without waiting.
func (p *nodeProcess) exited() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// killedBySIGKILL reports whether the ended process was killed by SIGKILL.
func (p *nodeProcess) killedBySIGKILL() bool {
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// stop ends the process gracefully (SIGTERM) and waits for it.
func (p *nodeProcess) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("the node did not stop cleanly: %v", err)
	}
}

func (p *nodeProcess) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		p.stdin.Close()
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("the node did not exit")
		return nil
	}
}
