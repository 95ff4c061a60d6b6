package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoPostgres says the PostgreSQL server binaries are not installed.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin")

// PostgresBinDir returns the directory holding initdb and pg_ctl: the
// newest Debian-style /usr/lib/postgresql/<version>/bin, else wherever
// PATH finds initdb, else "".
func PostgresBinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// PostgresCommand runs the PostgreSQL tool name from binDir, as the
// postgres user when this process is root: initdb refuses to run as root,
// and the server must own its files.
func PostgresCommand(binDir, name string, args ...string) *exec.Cmd {
	path := filepath.Join(binDir, name)
	if os.Geteuid() != 0 {
		return exec.Command(path, args...)
	}
	quoted := []string{shellQuote(path)}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	return exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ChownToPostgres gives dir to the postgres user when this process is
// root (the server runs as that user); otherwise it does nothing.
func ChownToPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, PostgreSQL must run as the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

// Postgres is a PostgreSQL server made with the installed binaries,
// listening on a free loopback port, trust authentication.
type Postgres struct {
	bin, dir, data string
	port           int
	throwaway      bool
	opts           string // the server's options, for Start
}

// StartPostgres starts a server on the cluster at dir/data, made there
// (initdb) unless an earlier run left one. A throwaway server trades
// durability (fsync off) for speed: its data is not meant to outlive it.
func StartPostgres(dir string, throwaway bool) (_ *Postgres, err error) {
	bin := PostgresBinDir()
	if bin == "" {
		return nil, ErrNoPostgres
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("postgres dir: %w", err)
	}
	if err := ChownToPostgres(dir); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p := &Postgres{bin: bin, dir: dir, data: filepath.Join(dir, "data"), port: port, throwaway: throwaway}
	if _, err := os.Stat(filepath.Join(p.data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := p.run("initdb", "-D", p.data, "--auth=trust", "-U", "postgres", "--no-sync"); err != nil {
			return nil, err
		}
	}
	opts := []string{"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		// Every node keeps pools to it: more than the default 100.
		"-c", "max_connections=400"}
	if throwaway {
		opts = append(opts, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	p.opts = strings.Join(opts, " ")
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start starts the server again after Stop, on the same port and data;
// StartPostgres has started it the first time.
func (p *Postgres) Start() error {
	if err := p.run("pg_ctl", "-D", p.data, "-o", p.opts, "-l", p.LogPath(), "-w", "-t", "60", "start"); err != nil {
		// pg_ctl gives up waiting without stopping the postmaster, which
		// would outlive us with its data dir removed underneath it. Its
		// error adds nothing: the start's says what went wrong.
		_ = p.run("pg_ctl", "-D", p.data, "-m", "immediate", "stop")
		return err
	}
	return nil
}

// Crash stops the server as a crash would (immediate mode: no
// checkpoint, recovery from the WAL on the next start), whatever kind it is.
func (p *Postgres) Crash() error {
	return p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop")
}

func (p *Postgres) run(name string, args ...string) error {
	out, err := PostgresCommand(p.bin, name, args...).CombinedOutput()
	if err != nil {
		hint := ""
		if os.Geteuid() == 0 {
			hint = " (as root the server runs as the postgres user, which must be able to enter " + p.dir + " and every directory above it)"
		}
		return fmt.Errorf("%s: %w: %s%s", name, err, strings.TrimSpace(string(out)), hint)
	}
	return nil
}

// URL connects as postgres to the postgres database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// LogPath is the server's log file.
func (p *Postgres) LogPath() string { return filepath.Join(p.dir, "postgres.log") }

// PID is the postmaster's process id, read from its pid file (pg_ctl
// starts it detached, not as our child); 0 if unknown.
func (p *Postgres) PID() int {
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// Stop stops the server: at once when it is throwaway, after a
// checkpoint (so the next start needs no recovery) when it is kept.
func (p *Postgres) Stop() error {
	mode := "fast"
	if p.throwaway {
		mode = "immediate"
	}
	return p.run("pg_ctl", "-D", p.data, "-m", mode, "-w", "stop")
}
