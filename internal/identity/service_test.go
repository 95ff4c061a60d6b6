package identity_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/sqlite"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

func newService(t *testing.T, key string) (*identity.Service, *clock) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "id.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	svc, err := identity.NewService(db.Identity(), ids.NewGenerator(clk.Now), identity.Config{
		SigningKey:     []byte(key),
		SessionTTL:     time.Hour,
		PasswordParams: identity.PasswordParams{Time: 1, Memory: 64, Threads: 1},
		Now:            clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk
}

const key = "0123456789abcdef0123456789abcdef"

func TestRegisterValidation(t *testing.T) {
	svc, _ := newService(t, key)
	tests := []struct {
		user, pass, display string
		badFields           []string
	}{
		{"ok_user1", "0123456789", "", nil},
		{"ab", "0123456789", "", []string{"username"}},
		{strings.Repeat("a", 31), "0123456789", "", []string{"username"}},
		{"UPPER", "0123456789", "", []string{"username"}},
		{"sp ace", "0123456789", "", []string{"username"}},
		{"okname", "123456789", "", []string{"password"}},
		{"okname", "ééééééééé", "", []string{"password"}}, // 9 characters, 18 bytes
		{"okname", strings.Repeat("x", 1025), "", []string{"password"}},
		{"okname", "0123456789", strings.Repeat("n", 51), []string{"display_name"}},
		{"okname", "0123456789", "bad\xffutf8", []string{"display_name"}},
		{"x", "y", "", []string{"username", "password"}},
	}
	for _, tt := range tests {
		_, err := svc.Register(t.Context(), tt.user, tt.pass, tt.display, idempotency.Claim{})
		if tt.badFields == nil {
			if err != nil {
				t.Errorf("Register(%q): %v", tt.user, err)
			}
			continue
		}
		e, ok := errkind.AsError(err)
		if !ok || e.Kind != errkind.Invalid {
			t.Fatalf("Register(%q, %q): err %v, want Invalid", tt.user, tt.pass, err)
		}
		for _, f := range tt.badFields {
			if e.Fields[f] == "" {
				t.Errorf("Register(%q, %q): no message for %s in %v", tt.user, tt.pass, f, e.Fields)
			}
		}
		if len(e.Fields) != len(tt.badFields) {
			t.Errorf("Register(%q, %q): fields %v, want only %v", tt.user, tt.pass, e.Fields, tt.badFields)
		}
	}
	u, _ := svc.UserByUsername(t.Context(), "ok_user1")
	if u.DisplayName != "ok_user1" {
		t.Errorf("empty display name should default to the username, got %q", u.DisplayName)
	}
	if got := ids.Shard(u.ID); got != ids.ShardForKey("ok_user1", 1024) {
		t.Errorf("user id shard %d, want the username's shard", got)
	}
}

func TestSessionLifecycle(t *testing.T) {
	svc, clk := newService(t, key)
	ctx := t.Context()
	if _, err := svc.Register(ctx, "alice", "0123456789", "Alice", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, pass string }{{"alice", "wrong-password"}, {"nobody", "0123456789"}, {"BAD!", "x"}} {
		if _, _, err := svc.Login(ctx, tc.user, tc.pass); !errors.Is(err, identity.ErrBadCredentials) {
			t.Errorf("Login(%q): %v, want ErrBadCredentials", tc.user, err)
		}
	}
	token, sess, err := svc.Login(ctx, "alice", "0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if !sess.ExpiresAt.Equal(clk.now.Add(time.Hour)) {
		t.Errorf("expires %s, want an hour from now", sess.ExpiresAt)
	}
	c, err := svc.Authenticate(ctx, token)
	if err != nil || c.SessionID != sess.ID {
		t.Fatalf("Authenticate: %+v %v", c, err)
	}

	// A token signed with another key, or altered, is refused.
	other, _ := newService(t, "another-key-another-key-another-k")
	if _, err := other.Authenticate(ctx, token); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("foreign token: %v", err)
	}
	if _, err := svc.Authenticate(ctx, token[:len(token)-2]+"xx"); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("tampered token: %v", err)
	}

	// Renewal: nothing before half-life, a fresh token after it.
	clk.Advance(20 * time.Minute)
	if tok, _, err := svc.Renew(ctx, c); err != nil || tok != "" {
		t.Fatalf("early Renew = %q, %v; want nothing", tok, err)
	}
	clk.Advance(20 * time.Minute)
	tok, exp, err := svc.Renew(ctx, c)
	if err != nil || tok == "" || !exp.Equal(clk.now.Add(time.Hour)) {
		t.Fatalf("Renew = %q %s %v", tok, exp, err)
	}
	clk.Advance(30 * time.Minute) // 70 min after login: the first token has expired
	if _, err := svc.Authenticate(ctx, token); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	c2, err := svc.Authenticate(ctx, tok)
	if err != nil {
		t.Fatalf("renewed token: %v", err)
	}

	if err := svc.Logout(ctx, c2.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok); !errors.Is(err, identity.ErrSessionInvalidated) {
		t.Errorf("after logout: %v, want ErrSessionInvalidated", err)
	}
}

// A TokenVerifier knows what a node without the store can: the signature
// and the expiry. A logged-out session still passes it; Authenticate
// refuses. Each case runs on a verifier that has already verified (and
// remembers) the good token.
func TestVerifyTokenWithoutTheStore(t *testing.T) {
	svc, clk := newService(t, key)
	ctx := t.Context()
	if _, err := svc.Register(ctx, "alice", "0123456789", "Alice", idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	token, sess, err := svc.Login(ctx, "alice", "0123456789")
	if err != nil {
		t.Fatal(err)
	}
	v := identity.NewTokenVerifier([]byte(key))
	for range 2 { // parsed, then remembered
		c, err := v.Verify(token, clk.now)
		if err != nil || c.SessionID != sess.ID || c.UserID != sess.UserID {
			t.Fatalf("Verify: %+v %v", c, err)
		}
	}
	other := identity.NewTokenVerifier([]byte("another-key-another-key-another-k"))
	for name, tc := range map[string]struct {
		v     *identity.TokenVerifier
		token string
		at    time.Time
	}{
		"another key": {other, token, clk.now},
		"altered":     {v, token[:len(token)-2] + "xx", clk.now},
		"expired":     {v, token, clk.now.Add(time.Hour)},
		"not a token": {v, "bearer", clk.now},
	} {
		if _, err := tc.v.Verify(tc.token, tc.at); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("%s: %v, want ErrUnauthenticated", name, err)
		}
	}
	if err := svc.Logout(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(token, clk.now); err != nil {
		t.Errorf("a revoked session's token fails Verify (%v): it cannot know", err)
	}
	if _, err := svc.Authenticate(ctx, token); err == nil {
		t.Error("Authenticate accepts a revoked session")
	}
}
