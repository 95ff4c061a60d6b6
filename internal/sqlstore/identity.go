package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/events"
	"github.com/photofeed/photofeed/internal/identity"
)

// IdentityStore implements identity.Store.
type IdentityStore struct{ db Conn }

var _ identity.Store = (*IdentityStore)(nil)

func NewIdentityStore(db Conn) *IdentityStore { return &IdentityStore{db} }

func (s *IdentityStore) CreateUser(ctx context.Context, u identity.User, hash string, claim idempotency.Claim) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		// Either key may be taken: the username by another account (the
		// client's to change), or the id by another node's generator in
		// the same millisecond (the caller's to retry with a fresh id).
		// DO NOTHING for both, then ask which: the transaction stays
		// usable on PostgreSQL, and the SQL stays free of each driver's
		// error codes and constraint names.
		res, err := tx.ExecContext(ctx, `
			INSERT INTO users (id, username, display_name, password_hash, admin, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			u.ID, u.Username, u.DisplayName, hash, u.Admin, ms(u.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var named int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE username = ?`, u.Username).Scan(&named); err != nil {
				return fmt.Errorf("insert user: which key is taken: %w", err)
			}
			if named > 0 {
				return identity.ErrUsernameTaken
			}
			return fmt.Errorf("insert user %d: %w", u.ID, ids.ErrTaken)
		}
		if err := emit(ctx, tx, events.UserRegistered, events.UserRegisteredV1{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName}); err != nil {
			return err
		}
		return markCommitted(ctx, tx, "", claim, identity.Created(u.Username))
	})
}

const userCols = `id, username, display_name, admin, created_at`

// userColsU is userCols qualified for joins, where the table is u.
var userColsU = "u." + strings.ReplaceAll(userCols, ", ", ", u.")

func scanUser(row RowScanner) (identity.User, error) {
	var u identity.User
	var created int64
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Admin, &created)
	u.CreatedAt = fromMS(created)
	return u, err
}

func (s *IdentityStore) UserByID(ctx context.Context, id int64) (identity.User, error) {
	return s.oneUser(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id)
}

func (s *IdentityStore) UserByUsername(ctx context.Context, username string) (identity.User, error) {
	return s.oneUser(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username)
}

func (s *IdentityStore) oneUser(ctx context.Context, q string, arg any) (identity.User, error) {
	u, err := scanUser(s.db.QueryRow(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return identity.User{}, identity.ErrUserNotFound
	}
	if err != nil {
		return identity.User{}, fmt.Errorf("select user: %w", err)
	}
	return u, nil
}

func (s *IdentityStore) UsersByIDs(ctx context.Context, idList []int64) ([]identity.User, error) {
	if len(idList) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+userColsU+` FROM `+s.db.IDsJoin()+` users AS u ON u.id = j.value`, s.db.IDs(idList))
	if err != nil {
		return nil, fmt.Errorf("select users: %w", err)
	}
	defer rows.Close()
	var out []identity.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (s *IdentityStore) PasswordHash(ctx context.Context, username string) (int64, string, error) {
	var id int64
	var hash string
	err := s.db.QueryRow(ctx, `SELECT id, password_hash FROM users WHERE username = ?`, username).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", identity.ErrUserNotFound
	}
	if err != nil {
		return 0, "", fmt.Errorf("select password: %w", err)
	}
	return id, hash, nil
}

// CreateSession stores a login's session. It takes no idempotency claim:
// a login's answer is a credential, never kept for a retry (its route is
// NoStore), so a retried login runs again and opens another session.
func (s *IdentityStore) CreateSession(ctx context.Context, sess identity.Session) error {
	return s.db.InTx(ctx, func(tx Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			sess.ID, sess.UserID, ms(sess.CreatedAt), ms(sess.ExpiresAt))
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("insert session %d: %w", sess.ID, ids.ErrTaken)
		}
		return nil
	})
}

func (s *IdentityStore) SessionByID(ctx context.Context, id int64) (identity.Session, error) {
	var sess identity.Session
	var created, expires int64
	var revoked sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT id, user_id, created_at, expires_at, revoked_at FROM sessions WHERE id = ?`, id).
		Scan(&sess.ID, &sess.UserID, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.Session{}, identity.ErrSessionNotFound
	}
	if err != nil {
		return identity.Session{}, fmt.Errorf("select session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = fromMS(created), fromMS(expires)
	if revoked.Valid {
		t := fromMS(revoked.Int64)
		sess.RevokedAt = &t
	}
	return sess, nil
}

func (s *IdentityStore) ExtendSession(ctx context.Context, id int64, expiresAt time.Time) error {
	return s.updateSession(ctx, `UPDATE sessions SET expires_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(expiresAt), id)
}

func (s *IdentityStore) RevokeSession(ctx context.Context, id int64, at time.Time) error {
	return s.updateSession(ctx, `UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, ms(at), id)
}

func (s *IdentityStore) updateSession(ctx context.Context, q string, args ...any) error {
	res, err := s.db.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return identity.ErrSessionNotFound
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *IdentityStore) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SetAdmin grants or withdraws the admin role.
func (s *IdentityStore) SetAdmin(ctx context.Context, username string, admin bool) error {
	res, err := s.db.Exec(ctx, `UPDATE users SET admin = ? WHERE username = ?`, admin, username)
	if err != nil {
		return fmt.Errorf("set admin: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return identity.ErrUserNotFound
	}
	return nil
}
