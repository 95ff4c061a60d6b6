//go:build unix

package cluster_test

import (
	"bufio"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/cluster"
	"github.com/photofeed/photofeed/internal/testenv"
)

func TestStopAllKillsWhatIgnoresSIGTERM(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	var sup cluster.Supervisor
	exited := make(chan string, 2)
	sup.OnExit = func(p *cluster.Process) { exited <- p.Name }
	r, w := io.Pipe()
	// A node that ignores SIGTERM and has started a process of its own.
	stubborn, err := sup.Start(cluster.Child{Name: "stubborn", Path: sh,
		Args: []string{"-c", `trap "" TERM; sleep 300 & echo $!; wait`}, Log: w})
	if err != nil {
		t.Fatal(err)
	}
	polite, err := sup.Start(cluster.Child{Name: "polite", Path: sh, Args: []string{"-c", "sleep 300 & wait"}})
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, r)
	grandchild, _ := strconv.Atoi(strings.TrimSpace(line))

	started := time.Now()
	sup.StopAll(300 * time.Millisecond)
	if took := time.Since(started); took > 10*time.Second {
		t.Errorf("StopAll took %s", took)
	}
	for _, p := range []*cluster.Process{stubborn, polite} {
		select {
		case <-p.Done():
		default:
			t.Errorf("%s still running after StopAll", p.Name)
		}
		if err := syscall.Kill(p.PID(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still there: %v", p.Name, p.PID(), err)
		}
	}
	// The grandchild was in the stubborn one's process group; init reaps it.
	if !testenv.Poll(5*time.Second, func() bool { return errors.Is(syscall.Kill(grandchild, 0), syscall.ESRCH) }) {
		t.Errorf("the stubborn node's own process (pid %d) outlived it", grandchild)
	}
	select {
	case name := <-exited:
		t.Errorf("OnExit called for %s, stopped on purpose", name)
	default:
	}
}

func TestOnExitReportsACrash(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	var sup cluster.Supervisor
	exited := make(chan *cluster.Process, 1)
	sup.OnExit = func(p *cluster.Process) { exited <- p }
	if _, err := sup.Start(cluster.Child{Name: "crashes", Path: sh, Args: []string{"-c", "echo bad config >&2; exit 3"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-exited:
		var ee *exec.ExitError
		if !errors.As(p.Err(), &ee) || ee.ExitCode() != 3 || !strings.Contains(p.Tail(), "bad config") {
			t.Errorf("exit %v, tail %q", p.Err(), p.Tail())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no OnExit for a process that exited")
	}
	sup.StopAll(time.Second)
}

func TestPrefixWriterKeepsLinesWhole(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	a := cluster.NewPrefixWriter(&out, &mu, "a | ")
	b := cluster.NewPrefixWriter(&out, &mu, "b | ")
	a.Write([]byte("one "))
	b.Write([]byte("two\nthr"))
	a.Write([]byte("half\nnext\n"))
	b.Write([]byte("ee\n"))
	want := "b | two\na | one half\na | next\nb | three\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestKillIsNoCrash(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	var sup cluster.Supervisor
	exited := make(chan string, 1)
	sup.OnExit = func(p *cluster.Process) { exited <- p.Name }
	// SIGTERM ignored: only a SIGKILL ends it at once.
	p, err := sup.Start(cluster.Child{Name: "killed", Path: sh, Args: []string{"-c", `trap "" TERM; sleep 300 & wait`}})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	p.Kill()
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("Kill took %s", took)
	}
	if err := syscall.Kill(p.PID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still there after Kill: %v", p.PID(), err)
	}
	var ee *exec.ExitError
	if !errors.As(p.Err(), &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("exit %v, want killed by SIGKILL", p.Err())
	}
	sup.StopAll(time.Second)
	select {
	case name := <-exited:
		t.Errorf("OnExit called for %s, killed on purpose", name)
	default:
	}
}
