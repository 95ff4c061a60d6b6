package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"
)

// Child is a process for the Supervisor to start.
type Child struct {
	Name string
	Path string   // the program
	Args []string // without the program's name
	Env  []string // added to this process's environment
	Log  io.Writer
}

// Process is a started Child.
type Process struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
	tail *tail
	// killed says Kill was asked for: the exit is no crash to report.
	killed atomic.Bool
}

// Kill kills the process group at once (SIGKILL, as kill -9 would: no
// shutdown, no flush) and waits for the exit. The exit is not reported
// to OnExit: it was asked for.
func (p *Process) Kill() {
	p.killed.Store(true)
	select {
	case <-p.done:
		return
	default:
	}
	killGroup(p.cmd.Process)
	<-p.done
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited; nil before Done.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Tail is the last few KiB the process wrote, for an error message.
func (p *Process) Tail() string { return p.tail.String() }

// Stop asks the process to exit (SIGTERM), waits up to grace, then kills
// its process group, and waits for it. Stopping an exited process does
// nothing.
func (p *Process) Stop(grace time.Duration) {
	p.signal()
	p.await(grace)
}

func (p *Process) signal() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(termSignal)
	}
}

func (p *Process) await(grace time.Duration) {
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	killGroup(p.cmd.Process)
	<-p.done
}

// Supervisor starts child processes and stops them, by their PIDs: it
// never signals a process it did not start. Each child runs in its own
// process group, so a terminal's Ctrl-C reaches the supervisor alone,
// which then stops them in its own order; on Linux a child also gets
// SIGTERM if the supervisor dies without stopping it.
type Supervisor struct {
	// OnExit, if set, is called when a child exits without Stop having
	// been asked for it: a crash the operator should hear of.
	OnExit func(*Process)

	mu       sync.Mutex
	procs    []*Process
	stopping bool
}

// Start starts c and returns at once.
func (s *Supervisor) Start(c Child) (*Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil, errors.New("supervisor is stopping")
	}
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	t := &tail{max: 4 << 10}
	var out io.Writer = t
	if c.Log != nil {
		out = io.MultiWriter(c.Log, t)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = 5 * time.Second // a grandchild holding the pipe must not hold Wait
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	p := &Process{Name: c.Name, cmd: cmd, done: make(chan struct{}), tail: t}
	s.procs = append(s.procs, p)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if !stopping && !p.killed.Load() && s.OnExit != nil {
			s.OnExit(p)
		}
	}()
	return p, nil
}

// StopAll stops every child: SIGTERM to all, latest started first, then
// up to grace for them to finish, then SIGKILL to the process groups of
// those still running; it returns when all have exited.
func (s *Supervisor) StopAll(grace time.Duration) {
	s.mu.Lock()
	s.stopping = true
	procs := append([]*Process(nil), s.procs...)
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].signal()
	}
	deadline := time.Now().Add(grace)
	for _, p := range procs {
		p.await(time.Until(deadline))
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
