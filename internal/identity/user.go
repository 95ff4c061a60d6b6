// Package identity owns accounts, passwords and sessions: who a request is
// from. It knows nothing of photos or follows.
package identity

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/errkind"
)

// User is an account as other contexts see it.
type User struct {
	ID          int64
	Username    string
	DisplayName string
	CreatedAt   time.Time
	Admin       bool
}

// Session is a login. Its id is carried in the signed token so any instance
// can check, with one store read, that it has not been revoked.
type Session struct {
	ID        int64
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// ResourceKind names a user among what keyed requests create
// (idempotency.Resource).
const ResourceKind = "user"

// Created names the user of username as what a keyed request created:
// its retry, if the first answer was lost, is answered with the user.
func Created(username string) idempotency.Resource {
	return idempotency.Resource{Kind: ResourceKind, ID: username}
}

// Store is the persistence identity needs.
type Store interface {
	// CreateUser stores an account; a held claim is marked committed with
	// the user as what it created (Created), in the same transaction.
	CreateUser(ctx context.Context, u User, passwordHash string, claim idempotency.Claim) error
	UserByID(ctx context.Context, id int64) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	UsersByIDs(ctx context.Context, ids []int64) ([]User, error)
	PasswordHash(ctx context.Context, username string) (userID int64, hash string, err error)

	CreateSession(ctx context.Context, s Session) error
	SessionByID(ctx context.Context, id int64) (Session, error)
	ExtendSession(ctx context.Context, id int64, expiresAt time.Time) error
	RevokeSession(ctx context.Context, id int64, at time.Time) error
}

// Errors the store and service return.
var (
	ErrUserNotFound       = errkind.New(errkind.NotFound, "no such user")
	ErrUsernameTaken      = errkind.New(errkind.Conflict, "that username is already taken")
	ErrSessionNotFound    = errkind.New(errkind.NotFound, "no such session")
	ErrBadCredentials     = errkind.New(errkind.Unauthenticated, "wrong username or password")
	ErrUnauthenticated    = errkind.New(errkind.Unauthenticated, "a valid session token is required")
	ErrSessionInvalidated = errkind.New(errkind.Unauthenticated, "the session has ended; log in again")
)

const (
	MinUsernameLen    = 3
	MaxUsernameLen    = 30
	MinPasswordLen    = 10
	MaxPasswordLen    = 1024 // hashing cost must stay bounded
	MaxDisplayNameLen = 50
)

// ValidUsername reports whether s is 3–30 of [a-z0-9_].
func ValidUsername(s string) bool {
	if len(s) < MinUsernameLen || len(s) > MaxUsernameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func validateRegistration(username, password, displayName string) error {
	f := errkind.Fields{}
	if !ValidUsername(username) {
		f.Add("username", "must be 3–30 characters of a–z, 0–9 and _")
	}
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLen:
		f.Add("password", "must be at least 10 characters")
	case len(password) > MaxPasswordLen:
		f.Add("password", "must be at most 1024 bytes")
	}
	if !utf8.ValidString(displayName) {
		f.Add("display_name", "must be valid UTF-8")
	} else if utf8.RuneCountInString(displayName) > MaxDisplayNameLen {
		f.Add("display_name", "must be at most 50 characters")
	}
	return f.Err()
}
