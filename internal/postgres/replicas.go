package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/photofeed/photofeed/internal/consistency"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/sqlstore"
)

// replica is a streaming replica that takes reads.
type replica struct {
	addr     string
	pool     *sql.DB
	inflight atomic.Int64
	healthy  atomic.Bool
	lsn      atomic.Uint64 // replay position at the last check
	lag      atomic.Int64  // ns behind the primary at the last check

	// The oldest primary position seen that the replica has not replayed
	// yet, and when it was seen (checkReplicas only): the lag is how long
	// ago that was.
	target   consistency.LSN
	targetAt time.Time
}

// ReplicaStatus is a replica as /readyz reports it.
type ReplicaStatus struct {
	// Database names the database in the shard map: databases of one
	// server share its replicas' addresses.
	Database string `json:"database"`
	Addr     string `json:"addr"`
	Healthy  bool   `json:"healthy"`
	LagMS    int64  `json:"lag_ms"`
}

// ErrPrimaryDown is returned for a write, or a read that must be
// current, while the primary is unreachable.
var ErrPrimaryDown = sqlstore.ErrPrimaryDown

// ErrDatabaseDown is returned for a read while neither the primary nor
// a replica can be reached: the client should retry, not report a bug.
var ErrDatabaseDown = errkind.New(errkind.Unavailable, "the database is unreachable; try again shortly")

// AddReplicas connects read replicas. Reads that may be stale go to the
// healthy replica with the fewest reads in flight; a replica that fails or
// lags more than maxLag is taken out until it recovers (MonitorReplicas).
func (db *DB) AddReplicas(ctx context.Context, urls []string, maxLag time.Duration) error {
	for _, u := range urls {
		pool, err := sql.Open("pgx", u)
		if err != nil {
			return fmt.Errorf("replica: %w", err)
		}
		// As many idle as open: database/sql keeps 2 by default, and
		// under load every other read would open (fork) a new backend.
		pool.SetMaxOpenConns(20)
		pool.SetMaxIdleConns(20)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		r := &replica{addr: hostOf(u), pool: pool}
		db.replicas = append(db.replicas, r)
	}
	db.maxLag = maxLag
	db.checkReplicas(ctx)
	return nil
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "replica"
}

// MonitorReplicas checks replay position and lag every interval until ctx
// ends.
func (db *DB) MonitorReplicas(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			db.checkReplicas(ctx)
		}
	}
}

func (db *DB) checkReplicas(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var primaryText string
	primaryErr := db.write.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&primaryText)
	primary, _ := consistency.ParseLSN(primaryText)
	for _, r := range db.replicas {
		lsn, err := replayed(ctx, r.pool)
		if err != nil {
			r.healthy.Store(false)
			continue
		}
		r.lsn.Store(uint64(lsn))
		if primaryErr != nil {
			// No primary: nothing new to replay, so the replica is as fresh
			// as it can be and keeps serving reads.
			r.healthy.Store(true)
			continue
		}
		// Not "now − the last replayed commit's time": after a quiet spell
		// that says the replica is minutes behind as soon as one new write
		// is in flight. The lag is how long the replica has owed the oldest
		// position it has not replayed, to within a check.
		var lag time.Duration
		switch now := time.Now(); {
		case lsn >= primary:
			r.target = 0
		case r.target == 0 || lsn >= r.target:
			r.target, r.targetAt = primary, now
		default:
			lag = now.Sub(r.targetAt)
		}
		r.lag.Store(int64(lag))
		r.healthy.Store(lag <= db.maxLag)
	}
}

// Replicas reports each replica's state.
func (db *DB) Replicas() []ReplicaStatus {
	out := make([]ReplicaStatus, 0, len(db.replicas))
	for _, r := range db.replicas {
		out = append(out, ReplicaStatus{Database: db.name, Addr: r.addr, Healthy: r.healthy.Load(), LagMS: time.Duration(r.lag.Load()).Milliseconds()})
	}
	return out
}

// pickRead chooses where a read goes: a healthy replica that has replayed
// up to the request's consistency token (any healthy one if it has none),
// the least busy first; else the primary.
func (db *DB) pickRead(ctx context.Context) (*sql.DB, *replica) {
	var token consistency.LSN
	hasToken := false
	if db.readTokens != nil {
		if tok, ok := db.readTokens.MustSee(ctx); ok {
			token, hasToken = tok.For(db.name)
		}
	}
	var best *replica
	for _, r := range db.replicas {
		if !r.healthy.Load() || (hasToken && consistency.LSN(r.lsn.Load()) < token) {
			continue
		}
		if best == nil || r.inflight.Load() < best.inflight.Load() {
			best = r
		}
	}
	if best == nil {
		return db.write, nil
	}
	return best.pool, best
}

// behindCaller reports whether r has not replayed the writes the
// request's consistency token says its caller has seen. The position of
// the last health check may be seconds old, so a replica that looks
// behind is asked again before it is taken to be.
func (db *DB) behindCaller(ctx context.Context, r *replica) bool {
	if db.readTokens == nil {
		return false
	}
	tok, ok := db.readTokens.MustSee(ctx)
	if !ok {
		return false
	}
	at, ok := tok.For(db.name)
	if !ok || consistency.LSN(r.lsn.Load()) >= at {
		return false
	}
	lsn, err := replayed(ctx, r.pool)
	if err != nil {
		return true
	}
	r.lsn.Store(uint64(lsn))
	return lsn < at
}

// replayed is how far a replica has replayed the primary's log.
func replayed(ctx context.Context, pool *sql.DB) (consistency.LSN, error) {
	var replay string
	if err := pool.QueryRowContext(ctx, `SELECT coalesce(pg_last_wal_replay_lsn()::text, '0/0')`).Scan(&replay); err != nil {
		return 0, err
	}
	return consistency.ParseLSN(replay)
}

// fallbackRead returns any healthy replica, for when the primary failed a
// read: a possibly stale answer beats none.
func (db *DB) fallbackRead() *replica {
	for _, r := range db.replicas {
		if r.healthy.Load() {
			return r
		}
	}
	return nil
}

// unreachable reports whether err means the server could not be reached
// (as opposed to a query error).
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true // however it failed, connecting did (a connect timeout included)
	}
	// Otherwise a deadline or a cancellation is a slow server or a caller
	// that gave up, not a server that cannot be reached (a context error
	// satisfies net.Error, so it is ruled out first).
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	// A server killed mid-query shows up as an unexpected EOF on the
	// connection it had.
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		// pgconn reports a connection closed under a query with an
		// unexported error type whose text is all there is to match.
		errors.Is(err, pgconn.ErrConnClosed) || strings.Contains(err.Error(), "conn closed") ||
		errors.As(err, &ne) || pgconn.SafeToRetry(err)
}
