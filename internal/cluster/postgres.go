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
	host           string // the address it listens on
	port           int
	throwaway      bool
	opts           string // the server's options, for Start
	ns             *NetNS // where it runs; nil for this host's namespace
}

// StartPostgres starts a server on the cluster at dir/data, made there
// (initdb) unless an earlier run left one. A throwaway server trades
// durability against the machine's crash (fsync off) for speed: its data
// is not meant to outlive the machine; it keeps what it acknowledged
// through its own.
func StartPostgres(dir string, throwaway bool) (*Postgres, error) {
	return StartPostgresIn(dir, throwaway, nil)
}

// StartPostgresIn starts a server as StartPostgres does, inside ns (nil:
// here), listening on the namespace's address only: its clients reach it
// over the namespace's link, which a fault can cut.
func StartPostgresIn(dir string, throwaway bool, ns *NetNS) (*Postgres, error) {
	p, err := newPostgres(dir, throwaway, ns)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(p.data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := p.run("initdb", "-D", p.data, "--auth=trust", "-U", "postgres", "--no-sync"); err != nil {
			return nil, err
		}
		if ns != nil {
			// initdb's trust covers loopback only; the replicas and the
			// nodes come from the far end of the namespace's link.
			if err := p.trustLink(); err != nil {
				return nil, err
			}
		}
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// StartReplica makes a streaming replica of p in dir (pg_basebackup
// unless an earlier run left one there) and starts it on a loopback port
// of its own, in this host's namespace: a fault that cuts p off leaves
// the replica reachable, behind but answering.
func (p *Postgres) StartReplica(dir string) (*Postgres, error) {
	r, err := newPostgres(dir, p.throwaway, nil)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(r.data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		// -R writes the standby signal and primary_conninfo; -c fast does
		// not wait for the primary's next checkpoint.
		if err := r.run("pg_basebackup", "-h", p.host, "-p", strconv.Itoa(p.port), "-U", "postgres",
			"-D", r.data, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
			return nil, fmt.Errorf("replica: %w", err)
		}
	}
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	return r, nil
}

func newPostgres(dir string, throwaway bool, ns *NetNS) (*Postgres, error) {
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
	host := "127.0.0.1"
	if ns != nil {
		host = ns.PeerIP
	}
	opts := []string{"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=" + host,
		// Every node keeps pools to it: more than the default 100.
		"-c", "max_connections=400"}
	if throwaway {
		// What only a machine's crash can cost: its own crash (an
		// immediate stop, as chaos makes) must not lose an acknowledged
		// commit, so synchronous_commit stays on, a write() per commit.
		opts = append(opts, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	return &Postgres{bin: bin, dir: dir, data: filepath.Join(dir, "data"), host: host, port: port,
		throwaway: throwaway, opts: strings.Join(opts, " "), ns: ns}, nil
}

// trustLink lets the namespace's link in as initdb --auth=trust lets
// loopback in, replication included.
func (p *Postgres) trustLink() error {
	f, err := os.OpenFile(filepath.Join(p.data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	peer := p.ns.HostIP + "/32"
	_, err = fmt.Fprintf(f, "host all all %s trust\nhost replication all %s trust\n", peer, peer)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("postgres: pg_hba.conf: %w", err)
	}
	return nil
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
	cmd := PostgresCommand(p.bin, name, args...)
	if p.ns != nil && name == "pg_ctl" {
		// The postmaster pg_ctl starts stays in the namespace it was
		// started in.
		cmd = p.ns.Wrap(cmd)
	}
	out, err := cmd.CombinedOutput()
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
	return fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable", p.host, p.port)
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
