package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoRedis says redis-server is not installed.
var ErrNoRedis = errors.New("redis-server not found on PATH")

// Redis is a redis-server on a free loopback port, a child of this
// process (in its own process group, so a terminal's Ctrl-C reaches it
// only through Stop).
type Redis struct {
	host string // the address it binds
	port int
	dir  string
	bin  string
	args []string
	ns   *NetNS // where it runs; nil for this host's namespace
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server with its files in dir. A throwaway one
// keeps nothing on disk; otherwise it appends to a log there and finds
// its data again on the next start.
func StartRedis(ctx context.Context, dir string, throwaway bool) (*Redis, error) {
	return StartRedisIn(ctx, dir, throwaway, nil)
}

// StartRedisIn starts redis-server as StartRedis does, inside ns (nil:
// here), bound to the namespace's address: its clients reach it over the
// namespace's link, which a fault can cut.
func StartRedisIn(ctx context.Context, dir string, throwaway bool, ns *NetNS) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedis
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("redis dir: %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	persist := []string{"--save", "", "--appendonly", "no"}
	if !throwaway {
		persist = []string{"--save", "", "--appendonly", "yes"}
	}
	host := "127.0.0.1"
	if ns != nil {
		// Its own namespace has its own ports: any is free there.
		host = ns.PeerIP
	}
	args := append([]string{"--bind", host, "--port", strconv.Itoa(port), "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log")}, persist...)
	r := &Redis{host: host, port: port, dir: dir, bin: bin, args: args, ns: ns}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Start starts the server again after Stop, on the same port and files;
// StartRedis has started it the first time.
func (r *Redis) Start(ctx context.Context) error {
	cmd := exec.Command(r.bin, r.args...)
	if r.ns != nil {
		cmd = r.ns.Command(r.bin, r.args...)
	}
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	r.cmd, r.done = cmd, done
	go func() { cmd.Wait(); close(done) }()
	if err := waitListening(ctx, r.addr(), 10*time.Second, done); err != nil {
		r.Stop()
		log, _ := os.ReadFile(r.LogPath())
		return fmt.Errorf("redis-server: %w: %s", err, strings.TrimSpace(string(log)))
	}
	return nil
}

func (r *Redis) addr() string { return r.host + ":" + strconv.Itoa(r.port) }

// URL is the server's redis:// URL, database 0.
func (r *Redis) URL() string { return "redis://" + r.addr() + "/0" }

// PID is the server's process id.
func (r *Redis) PID() int { return r.cmd.Process.Pid }

// LogPath is the server's log file.
func (r *Redis) LogPath() string { return filepath.Join(r.dir, "redis.log") }

// Stop asks the server to exit (SIGTERM: it writes its append-only file
// first), kills it if it has not within 10 s, and waits for it.
func (r *Redis) Stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(termSignal)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}
