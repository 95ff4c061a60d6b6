package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
)

// Service registers users, logs them in and authenticates their tokens.
type Service struct {
	store    Store
	ids      *ids.Generator
	key      []byte
	tokens   *verifiedTokens
	params   PasswordParams
	shards   int
	ttl      time.Duration
	now      func() time.Time
	dummyPHC string // hashed at start so unknown users cost as much as known ones
	budget   *hashBudget
}

// Config configures a Service. Zero values take the documented defaults.
type Config struct {
	SigningKey     []byte           // HMAC key for session tokens; required
	SessionTTL     time.Duration    // default 24h
	PasswordParams PasswordParams   // default DefaultPasswordParams
	Shards         int              // logical shards users are spread over; default 1024
	Now            func() time.Time // default time.Now
	// HashMemory is the argon2id memory, in KiB, all password hashes of
	// this node may use at once; default 4 × PasswordParams.Memory.
	HashMemory int64
	// HashWait is how long a hash waits for memory before ErrBusy;
	// default 2s.
	HashWait time.Duration
	// HashWaited, if set, is told how long each hash waited for its
	// memory (the whole HashWait for one refused with ErrBusy).
	HashWaited func(time.Duration)
}

func NewService(store Store, gen *ids.Generator, cfg Config) (*Service, error) {
	if len(cfg.SigningKey) < 32 {
		return nil, errors.New("identity: signing key must be at least 32 bytes")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.PasswordParams == (PasswordParams{}) {
		cfg.PasswordParams = DefaultPasswordParams
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 1024
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HashMemory <= 0 {
		cfg.HashMemory = 4 * int64(cfg.PasswordParams.Memory)
	}
	if cfg.HashWait <= 0 {
		cfg.HashWait = 2 * time.Second
	}
	dummy, err := hashPassword("not a real password", cfg.PasswordParams)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, ids: gen, key: cfg.SigningKey, tokens: newVerifiedTokens(cfg.SigningKey), params: cfg.PasswordParams,
		shards: cfg.Shards, ttl: cfg.SessionTTL, now: cfg.Now, dummyPHC: dummy,
		budget: newHashBudget(cfg.HashMemory, cfg.HashWait, cfg.HashWaited)}, nil
}

// SessionTTL is how long a new session lasts.
func (s *Service) SessionTTL() time.Duration { return s.ttl }

// Register creates an account. The user's logical shard comes from their
// username, so everything they own can later live together on one shard.
// A held claim (the request's Idempotency-Key) is marked committed with
// the account.
func (s *Service) Register(ctx context.Context, username, password, displayName string, claim idempotency.Claim) (User, error) {
	if err := validateRegistration(username, password, displayName); err != nil {
		return User{}, err
	}
	if displayName == "" {
		displayName = username
	}
	var hash string
	var err error
	if berr := s.budget.do(ctx, s.params.Memory, func() { hash, err = hashPassword(password, s.params) }); berr != nil {
		return User{}, fmt.Errorf("register: %w", berr)
	}
	if err != nil {
		return User{}, fmt.Errorf("register: %w", err)
	}
	u := User{Username: username, DisplayName: displayName, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	// An id another node took in the same millisecond is retried with a
	// fresh one; the claim is marked with whichever attempt commits.
	_, err = s.ids.Try(ids.ShardForKey(username, s.shards), func(id int64) error {
		u.ID = id
		return s.store.CreateUser(ctx, u, hash, claim)
	})
	if err != nil {
		return User{}, fmt.Errorf("register %q: %w", username, err)
	}
	return u, nil
}

// Login checks credentials and opens a session. Unknown users and wrong
// passwords get the same error after the same work.
func (s *Service) Login(ctx context.Context, username, password string) (token string, sess Session, err error) {
	if len(password) > MaxPasswordLen || !ValidUsername(username) {
		return "", Session{}, s.dummyCheck(ctx, password)
	}
	userID, hash, err := s.store.PasswordHash(ctx, username)
	if errors.Is(err, ErrUserNotFound) {
		return "", Session{}, s.dummyCheck(ctx, password)
	}
	if err != nil {
		return "", Session{}, fmt.Errorf("login: %w", err)
	}
	ok, err := s.check(ctx, password, hash)
	if err != nil {
		return "", Session{}, fmt.Errorf("login %q: %w", username, err)
	}
	if !ok {
		return "", Session{}, ErrBadCredentials
	}
	return s.openSession(ctx, userID)
}

// check compares password with a stored hash within the node's hashing
// budget.
func (s *Service) check(ctx context.Context, password, encoded string) (ok bool, err error) {
	mem := s.params.Memory
	if p, _, perr := hashParams(encoded); perr == nil {
		mem = p.Memory
	}
	if berr := s.budget.do(ctx, mem, func() { ok, err = checkPassword(password, encoded) }); berr != nil {
		return false, berr
	}
	return ok, err
}

// dummyCheck spends a real check's work on a login that cannot succeed,
// so it is not told apart by its timing.
func (s *Service) dummyCheck(ctx context.Context, password string) error {
	if _, err := s.check(ctx, password, s.dummyPHC); err != nil {
		return err
	}
	return ErrBadCredentials
}

func (s *Service) openSession(ctx context.Context, userID int64) (string, Session, error) {
	now := s.now().UTC().Truncate(time.Second)
	sess := Session{UserID: userID, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	sid, err := s.ids.Try(ids.Shard(userID), func(id int64) error {
		sess.ID = id
		return s.store.CreateSession(ctx, sess)
	})
	if err != nil {
		return "", Session{}, fmt.Errorf("open session: %w", err)
	}
	tok, err := signToken(s.key, Claims{UserID: userID, SessionID: sid, ExpiresAt: sess.ExpiresAt}, now)
	if err != nil {
		return "", Session{}, err
	}
	return tok, sess, nil
}

// Authenticate verifies token and that its session is still open.
func (s *Service) Authenticate(ctx context.Context, token string) (Claims, error) {
	now := s.now()
	c, err := s.tokens.verify(token, now)
	if err != nil {
		return Claims{}, ErrUnauthenticated
	}
	sess, err := s.store.SessionByID(ctx, c.SessionID)
	if errors.Is(err, ErrSessionNotFound) {
		return Claims{}, ErrSessionInvalidated
	}
	if err != nil {
		return Claims{}, fmt.Errorf("authenticate: %w", err)
	}
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) || sess.UserID != c.UserID {
		return Claims{}, ErrSessionInvalidated
	}
	return c, nil
}

// Renew extends a session that has used up more than half its lifetime and
// returns a fresh token for it; otherwise it returns "" and no error. This
// keeps an active browser logged in without long-lived tokens.
func (s *Service) Renew(ctx context.Context, c Claims) (string, time.Time, error) {
	now := s.now().UTC().Truncate(time.Second)
	if c.ExpiresAt.Sub(now) > s.ttl/2 {
		return "", time.Time{}, nil
	}
	exp := now.Add(s.ttl)
	if err := s.store.ExtendSession(ctx, c.SessionID, exp); err != nil {
		return "", time.Time{}, fmt.Errorf("renew session: %w", err)
	}
	tok, err := signToken(s.key, Claims{UserID: c.UserID, SessionID: c.SessionID, ExpiresAt: exp}, now)
	return tok, exp, err
}

// Logout revokes the session.
func (s *Service) Logout(ctx context.Context, sessionID int64) error {
	if err := s.store.RevokeSession(ctx, sessionID, s.now().UTC()); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

func (s *Service) UserByUsername(ctx context.Context, username string) (User, error) {
	if !ValidUsername(username) {
		return User{}, ErrUserNotFound
	}
	return s.store.UserByUsername(ctx, username)
}

func (s *Service) UserByID(ctx context.Context, id int64) (User, error) {
	return s.store.UserByID(ctx, id)
}

// UsersByIDs returns the users that exist, keyed by id.
func (s *Service) UsersByIDs(ctx context.Context, idList []int64) (map[int64]User, error) {
	users, err := s.store.UsersByIDs(ctx, idList)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	m := make(map[int64]User, len(users))
	for _, u := range users {
		m[u.ID] = u
	}
	return m, nil
}
