package identity

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims identify a session. Any instance holding the key verifies them
// without shared memory; the session record decides revocation.
type Claims struct {
	UserID    int64
	SessionID int64
	ExpiresAt time.Time
}

const tokenIssuer = "photofeed"

type tokenClaims struct {
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

func signToken(key []byte, c Claims, now time.Time) (string, error) {
	tc := tokenClaims{
		SessionID: strconv.FormatInt(c.SessionID, 10),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   strconv.FormatInt(c.UserID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tc).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

var errBadToken = errors.New("invalid token")

func parseToken(key []byte, token string, now time.Time) (Claims, error) {
	var tc tokenClaims
	_, err := jwt.ParseWithClaims(token, &tc, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", errBadToken, err)
	}
	uid, err1 := strconv.ParseInt(tc.Subject, 10, 64)
	sid, err2 := strconv.ParseInt(tc.SessionID, 10, 64)
	if err1 != nil || err2 != nil {
		return Claims{}, fmt.Errorf("%w: bad subject or session", errBadToken)
	}
	return Claims{UserID: uid, SessionID: sid, ExpiresAt: tc.ExpiresAt.Time}, nil
}

// VerifyToken checks a session token's signature and expiry with key, and
// nothing more: it is what a node without the session store (the
// gateway) can know. A revoked session passes it; the instances behind,
// which read the store, still refuse it (Service.Authenticate).
func VerifyToken(key []byte, token string, now time.Time) (Claims, error) {
	c, err := parseToken(key, token, now)
	if err != nil {
		return Claims{}, ErrUnauthenticated
	}
	return c, nil
}
