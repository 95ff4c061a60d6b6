package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/gateway"
)

// BenchmarkGatewayEdge is an authenticated GET through the gateway role's
// whole handler (client address, request id and log line, token check,
// rate limit, proxy) to a 10-byte upstream, without the client's network:
// what the gateway adds per request, for a CPU profile.
//
//	go test -run '^$' -bench GatewayEdge -cpu 2 -cpuprofile cpu.out ./internal/app
func BenchmarkGatewayEdge(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "0123456789") }))
	defer up.Close()
	secret := "0123456789abcdef0123456789abcdef"
	gw, err := gateway.New(gateway.Config{Upstreams: []string{up.URL}, HashKey: userKey, ClientAddr: clientip.From})
	if err != nil {
		b.Fatal(err)
	}
	// Limits wrk's one user never reaches: every request is counted and passed.
	limitsFile := b.TempDir() + "/limits.json"
	os.WriteFile(limitsFile, []byte(`{"policies": {"authenticated": {"limit": 100000000, "window": "5m", "algorithm": "sliding_window_counter"},
              "anonymous": {"limit": 100000000, "window": "5m", "algorithm": "sliding_window_counter"}}}`), 0o600)
	cfg := Config{Secret: secret, RateLimits: limitsFile}
	log := slog.New(slog.DiscardHandler)
	limits, _ := rateLimits(cfg, nil, gatewayLimitPrefix, log)
	key := subkey([]byte(secret), "session-token")
	h := gatewayServer(cfg, gw, limits, key, log)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("session-token"))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "photofeed", "sub": strconv.FormatInt(42, 10), "sid": "7", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString(m.Sum(nil))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body.String())
			}
		}
	})
}
